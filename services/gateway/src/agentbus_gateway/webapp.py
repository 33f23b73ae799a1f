"""The web app at ``/``: its built files, ``index.html`` for every client route, a strict CSP.

It answers only what no route of the gateway answers, and only ``GET``/``HEAD`` outside the
API's own paths (:data:`API_PATHS` keep their meaning: an unknown ``/api/...`` path is a 404
problem, never the app's page). Files under ``assets/`` carry a content hash in their name and
are cached for a year; every other file, ``index.html`` first, is revalidated on each load so a
deployment shows at once.

``index.html`` is answered with a fresh nonce each time, in its policy's ``style-src`` and in a
``<meta name="csp-nonce">`` the app reads at start-up: the ``<style>`` tags its dialogs' scroll
lock adds carry it, and nothing else inline is allowed. Since no two answers are alike, the page
carries no ``ETag`` or ``Last-Modified``: a revalidation never pairs a stored page with the
policy of a newer answer. The page's text is read once per build: it is kept with the file's
modification time and size, and read again (off the event loop) only when a new build changed
them. A ``HEAD`` is answered like a ``GET``; the server sends its headers alone.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio
from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from agentbus_shared.logging import get_logger

log = get_logger(__name__)

API_PATHS = (
    "/api",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/health",
    "/metrics",
    "/webhooks",
    "/.well-known",
)
"""Paths (and everything under them) that belong to the API, never to the web app."""

HASHED_ASSETS = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def content_security_policy(nonce: str | None = None) -> str:
    """Only the app's own files run, load or connect; no inline script, no inline style but the
    ``<style>`` tags carrying ``nonce``; no plugin, never framed."""
    styles = "style-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            styles,
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
"""The policy of every file but ``index.html`` (whose policy adds the answer's nonce)."""

NONCE_META = '<meta name="csp-nonce" content="{nonce}">'
_BEFORE_NONCE, _AFTER_NONCE = NONCE_META.split("{nonce}")
NONCE_IN_PAGE = re.compile(re.escape(_BEFORE_NONCE) + r'([^"]+)' + re.escape(_AFTER_NONCE))
HEAD_TAG = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def with_nonce(page: str, nonce: str) -> str:
    """``page`` with the nonce's ``<meta>`` first in its ``<head>`` (or first of all)."""
    meta = NONCE_META.format(nonce=nonce)
    head = HEAD_TAG.search(page)
    if head is None:
        return meta + page
    return page[: head.end()] + meta + page[head.end() :]


def nonce_of(page: str) -> str | None:
    """The nonce :func:`with_nonce` put in ``page``, if any."""
    found = NONCE_IN_PAGE.search(page)
    return found.group(1) if found else None


@dataclass
class AppPageText:
    """``index.html``'s text as last read, with the modification time and size it was read at."""

    file: Path
    version: tuple[int, int] = (0, -1)
    text: str = ""

    async def current(self) -> str:
        """The page's text, read again only when the file's time or size changed."""
        found = await anyio.Path(self.file).stat()
        version = (found.st_mtime_ns, found.st_size)
        if version != self.version:
            self.text = await anyio.Path(self.file).read_text(encoding="utf-8")
            self.version = version
        return self.text


def belongs_to_api(path: str) -> bool:
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in API_PATHS)


def is_client_route(path: str) -> bool:
    """A path the app's router handles (``/chat/c_1``), not a file (``/favicon.ico``)."""
    return "." not in PurePosixPath(path).name


class WebAppFiles:
    """The built app in ``root`` (``web/dist``), answered file by file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.page = AppPageText(self.root / "index.html")

    @property
    def present(self) -> bool:
        return (self.root / "index.html").is_file()

    async def response(self, path: str) -> Response | None:
        """The file at ``path``, ``index.html`` for a client route, or None (not found)."""
        # resolve() and is_file() touch the disk: off the event loop, like the page's read.
        file = await anyio.to_thread.run_sync(self._file, path)
        if file == self.page.file or (file is None and is_client_route(path)):
            return await self._page()
        if file is not None:
            hashed = file.parent == self.root / HASHED_ASSETS
            return self._send(file, IMMUTABLE if hashed else REVALIDATE)
        return None

    def _file(self, path: str) -> Path | None:
        parts = PurePosixPath(path).parts[1:]
        if not parts or any(part.startswith(".") for part in parts):
            return None
        try:
            file = self.root.joinpath(*parts).resolve()
        except ValueError:  # an embedded null byte names no file
            return None
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        return file

    async def _page(self) -> Response:
        nonce = secrets.token_urlsafe(18)
        page = with_nonce(await self.page.current(), nonce)
        headers = {
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": content_security_policy(nonce),
            **SECURITY_HEADERS,
        }
        return HTMLResponse(page, headers=headers)

    def _send(self, file: Path, cache_control: str) -> Response:
        headers = {
            "Cache-Control": cache_control,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            **SECURITY_HEADERS,
        }
        return FileResponse(file, headers=headers)


def install_web_app(app: FastAPI, root: Path) -> None:
    """Serve the app in ``root`` for what no route answers; without a build there, nothing."""
    files = WebAppFiles(root)
    if not files.present:
        log.warning("gateway.web_app_missing", directory=str(files.root))
        return
    not_found = app.router.default

    async def web_app_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        response = None
        if scope.get("method") in ("GET", "HEAD") and not belongs_to_api(path):
            response = await files.response(path)
        if response is None:
            await not_found(scope, receive, send)
        else:
            await response(scope, receive, send)

    app.router.default = web_app_or_not_found
