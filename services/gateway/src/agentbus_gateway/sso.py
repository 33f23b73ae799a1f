"""Single sign-on at the edge: the two routes that answer a browser with redirects and cookies.

``GET /api/v1/auth/sso/{provider}/start`` asks auth (``sso.start``) for the provider's
authorization URL, sets the login's browser cookie (``agentbus_sso``, ``__Host-`` prefixed over
HTTPS; ``HttpOnly``, ``SameSite=Lax`` so it comes back on the provider's top-level redirect, for
the login's ten minutes) and redirects there. ``.../callback`` brings the provider's answer and
that cookie to auth (``sso.callback``) and clears the cookie. A session lands in the cookies of
cookie mode (:mod:`agentbus_gateway.browser_sessions`), exactly as a web login's would, and the
browser goes to ``return_to``; an account with a second factor goes to the login page's code
step, the challenge in the fragment (never sent to a server, nor in a ``Referer``). Every
failure goes to ``/login?sso_error=<code>`` (docs/adr/api-changes-from-the-security-review.md).
"""

from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from agentbus_gateway.browser_sessions import SessionCookies
from agentbus_gateway.guard import AccessPolicy, Admission, Guard
from agentbus_gateway.openapi import problem_responses
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts import sso
from agentbus_shared.errors import AgentbusError
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Answer = TypeVar("Answer", bound=BaseModel)

BROWSER_COOKIE = "agentbus_sso"
LOGIN_PAGE = "/login"
ERROR_PARAMETER = "sso_error"
CHALLENGE_FRAGMENT = "sso_challenge"

START_POLICY = AccessPolicy(access="public", rate_group="anonymous")
CALLBACK_POLICY = AccessPolicy(access="public", rate_group="strict")

_Provider = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
_REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {
        "description": "To the provider (start), or back to the app: `return_to` with the session "
        f"cookies, the login page's code step, or `{LOGIN_PAGE}?{ERROR_PARAMETER}=<code>`",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}


def login_error(code: str) -> str:
    """The login page that words ``code``."""
    return f"{LOGIN_PAGE}?{urlencode({ERROR_PARAMETER: code})}"


def mfa_step(return_to: str, challenge_token: str) -> str:
    """The login page's code step for ``challenge_token``, coming back to ``return_to``."""
    return f"{LOGIN_PAGE}?{urlencode({'next': return_to})}#{CHALLENGE_FRAGMENT}={quote(challenge_token)}"


class SingleSignOn:
    """The start and callback routes; everything else of single sign-on is auth's."""

    def __init__(
        self, guard: Guard, rpc: RpcClient, session_cookies: SessionCookies, *, timeout: float
    ) -> None:
        self._guard = guard
        self._rpc = rpc
        self._session_cookies = session_cookies
        self._timeout = timeout

    @property
    def browser_cookie(self) -> str:
        return self._session_cookies.named(BROWSER_COOKIE)

    @property
    def router(self) -> APIRouter:
        router = APIRouter(prefix=sso.SSO_PREFIX, tags=["auth"])
        starting = Annotated[Admission, Depends(self._guard.dependency(START_POLICY))]
        returning = Annotated[Admission, Depends(self._guard.dependency(CALLBACK_POLICY))]

        @router.get(
            "/{provider}/start",
            summary="Sign in with a provider: redirects to it",
            **_redirect_route(sso.Operation.START, START_POLICY),
        )
        async def start(
            provider: _Provider,
            admission: starting,
            return_to: Annotated[str, Query(max_length=2048)] = sso.DEFAULT_RETURN_TO,
        ) -> Response:
            return await self.start(provider, return_to, admission)

        @router.get(
            "/{provider}/callback",
            summary="Where the provider sends the browser back: redirects into the app",
            **_redirect_route(sso.Operation.CALLBACK, CALLBACK_POLICY),
        )
        async def callback(
            request: Request,
            provider: _Provider,
            *,
            admission: returning,
            state: Annotated[str | None, Query(max_length=512)] = None,
            code: Annotated[str | None, Query(max_length=2048)] = None,
            error: Annotated[str | None, Query(max_length=256)] = None,
        ) -> Response:
            answer = sso.SsoCallbackCommand(
                provider=provider,
                state=state,
                code=code,
                error=error,
                browser_binding=request.cookies.get(self.browser_cookie),
            )
            return await self.callback(answer, admission)

        return router

    async def start(self, provider: str, return_to: str, admission: Admission) -> Response:
        command = sso.SsoStartCommand(provider=provider, return_to=return_to)
        try:
            started = await self._ask_auth(sso.Operation.START, command, sso.SsoStarted, admission)
        except AgentbusError as exc:
            return self._redirect(login_error(exc.code), admission)
        response = self._redirect(started.authorization_url, admission)
        response.raw_headers.append(
            self._browser_cookie(started.browser_binding, max_age=started.expires_in)
        )
        return response

    async def callback(self, answer: sso.SsoCallbackCommand, admission: Admission) -> Response:
        try:
            signed_in = await self._ask_auth(
                sso.Operation.CALLBACK, answer, sso.SsoSignedIn, admission
            )
        except AgentbusError as exc:
            log.info("sso.callback_refused", provider=answer.provider, code=exc.code)
            response = self._redirect(login_error(exc.code), admission)
        else:
            response = self._signed_in(signed_in, admission)
        response.raw_headers.append(self._browser_cookie("", max_age=0))
        return response

    async def _ask_auth(
        self, operation: str, command: BaseModel, answer: type[Answer], admission: Admission
    ) -> Answer:
        """Auth's answer to ``operation``; raises its refusal (``AgentbusError``)."""
        result: Answer = await self._rpc.request(
            sso.SERVICE, operation, command, answer, meta=admission.meta, timeout=self._timeout
        )
        return result

    def _signed_in(self, signed_in: sso.SsoSignedIn, admission: Admission) -> Response:
        if signed_in.tokens is not None:
            response = self._redirect(signed_in.return_to, admission)
            response.raw_headers.extend(self._session_cookies.issue(signed_in.tokens.refresh_token))
            return response
        assert signed_in.mfa is not None, "auth answers tokens or a challenge"
        return self._redirect(
            mfa_step(signed_in.return_to, signed_in.mfa.challenge_token), admission
        )

    @staticmethod
    def _redirect(location: str, admission: Admission) -> Response:
        headers = {"Location": location, "Cache-Control": "no-store", **admission.rate_headers}
        return Response(status_code=302, headers=headers)

    def _browser_cookie(self, value: str, *, max_age: int) -> tuple[bytes, bytes]:
        # Lax: it must come back on the provider's top-level redirect to the callback.
        return self._session_cookies.cookie(
            self.browser_cookie, value, "/", same_site="Lax", max_age=max_age
        )


def _redirect_route(operation: str, policy: AccessPolicy) -> dict[str, Any]:
    """What the OpenAPI document says of a route that answers with a redirect."""
    description = (
        f"The gateway's own route (redirects and cookies), calling `rpc.auth.v1.{operation}`.",
        f"Rate group: `{policy.rate_group}`.",
        f"Failures redirect to `{LOGIN_PAGE}?{ERROR_PARAMETER}=<code>`.",
    )
    return {
        "operation_id": f"{sso.SERVICE}.{operation}",
        "status_code": 302,
        "response_class": Response,
        "responses": {**_REDIRECT, **problem_responses(422, 429)},
        "description": "\n\n".join(description),
        "openapi_extra": {"security": [], "x-rate-group": policy.rate_group},
    }
