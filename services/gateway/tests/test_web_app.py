"""The web app at ``/``: its files and client routes, cache headers, CSP, and the API paths that
keep their meaning beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_support import StartGateway

from agentbus_gateway.webapp import content_security_policy, nonce_of, with_nonce
from agentbus_shared.errors import PROBLEM_CONTENT_TYPE

INDEX = (
    "<!doctype html><html><head><title>App</title></head>"
    '<body><script type="module" src="/assets/index-AbC123.js"></script></body></html>'
)


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """A built app as Vite lays it out, with a secret file beside it that must never be served."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-AbC123.js").write_text("console.log('app')")
    (dist / "robots.txt").write_text("User-agent: *")
    (tmp_path / "secret.txt").write_text("not for you")
    return dist


async def test_client_routes_get_the_app_page_revalidated_with_a_strict_csp(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    async with start_gateway(web_dir=web_dir) as gw:
        for path in ("/", "/login", "/chat/c_123", "/settings/account?tab=mfa"):
            page = await gw.client.get(path)
            assert page.status_code == 200, path
            nonce = nonce_of(page.text)
            assert nonce is not None and page.text == with_nonce(INDEX, nonce)
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            policy = page.headers["content-security-policy"]
            assert policy == content_security_policy(nonce)
            assert f"style-src 'self' 'nonce-{nonce}'" in policy
            for directive in (
                "default-src 'self'",
                "script-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ):
                assert directive in policy
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
            assert page.headers["x-content-type-options"] == "nosniff"
        head = await gw.client.head("/pricing")
        assert head.status_code == 200 and head.content == b""
        assert "nonce-" in head.headers["content-security-policy"]


async def test_every_app_page_carries_a_fresh_nonce_and_no_validator(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    """The nonce in the page is the one in its policy, new each time; with no ETag or
    Last-Modified, a stored page is never revalidated into a newer answer's policy."""
    async with start_gateway(web_dir=web_dir) as gw:
        first, second = [await gw.client.get(path) for path in ("/", "/index.html")]
        nonces = [nonce_of(page.text) for page in (first, second)]
        assert None not in nonces and nonces[0] != nonces[1]
        for page, nonce in zip((first, second), nonces, strict=True):
            assert f"'nonce-{nonce}'" in page.headers["content-security-policy"]
            assert "etag" not in page.headers and "last-modified" not in page.headers
            assert len(str(nonce)) >= 22
        asset = await gw.client.get("/assets/index-AbC123.js")
        assert "nonce-" not in asset.headers["content-security-policy"]


async def test_a_new_build_shows_on_the_next_load_of_the_app_page(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    """The page's text is kept between answers, and read again once a build replaced it."""
    async with start_gateway(web_dir=web_dir) as gw:
        assert "<title>App</title>" in (await gw.client.get("/")).text
        (web_dir / "index.html").write_text(INDEX.replace("App", "New build"))
        assert "<title>New build</title>" in (await gw.client.get("/chat")).text


async def test_hashed_assets_are_cached_for_a_year_and_other_files_revalidated(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    async with start_gateway(web_dir=web_dir) as gw:
        asset = await gw.client.get("/assets/index-AbC123.js")
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "javascript" in asset.headers["content-type"]
        robots = await gw.client.get("/robots.txt")
        assert robots.text == "User-agent: *"
        assert robots.headers["cache-control"] == "no-cache"


async def test_api_paths_keep_their_meaning_beside_the_app(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    async with start_gateway(web_dir=web_dir) as gw:
        for path in (
            "/api",
            "/api/v1/nothing-here",
            "/api/v2/agents",
            "/metrics",
            "/webhooks/paypal",
            "/.well-known/openid-configuration",
            "/health/nothing",
        ):
            missing = await gw.client.get(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-type"] == PROBLEM_CONTENT_TYPE, path
            assert "content-security-policy" not in missing.headers
        assert (await gw.client.get("/health")).json() == {"status": "ok"}
        assert (await gw.client.get("/openapi.json")).json()["info"]["title"] == "Agentbus"
        docs = await gw.client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "content-security-policy" not in docs.headers
        assert (await gw.client.post("/health")).status_code == 405
        posted = await gw.client.post("/login")
        assert posted.status_code == 404
        assert posted.headers["content-type"] == PROBLEM_CONTENT_TYPE


async def test_files_outside_the_build_and_missing_files_are_not_found(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    async with start_gateway(web_dir=web_dir) as gw:
        for path in ("/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/favicon.ico"):
            response = await gw.client.get(path)
            assert response.status_code == 404, path
            assert "not for you" not in response.text


async def test_without_a_build_the_gateway_serves_only_the_api(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    async with start_gateway(web_dir=tmp_path / "nothing") as gw:
        root = await gw.client.get("/")
        assert root.status_code == 404
        assert root.headers["content-type"] == PROBLEM_CONTENT_TYPE
        assert (await gw.client.get("/health")).status_code == 200


async def test_a_null_byte_in_a_path_is_a_missing_file_not_a_server_error(
    start_gateway: StartGateway, web_dir: Path
) -> None:
    async with start_gateway(web_dir=web_dir) as gw:
        asset = await gw.client.get("/assets/a%00.js")
        assert asset.status_code == 404
        route = await gw.client.get("/x%00y")
        assert route.status_code == 200
        assert route.text.startswith("<!doctype html>")
