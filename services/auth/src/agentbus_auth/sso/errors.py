"""Why a single sign-on was refused, each with its stable code: the gateway sends the browser to
``/login?sso_error=<code>`` and the login page words it."""

from __future__ import annotations

from agentbus_shared.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable, Unauthorized


class SsoProviderUnknown(NotFound):
    code = "sso_provider_unknown"
    default_message = "There is no such single sign-on provider."


class SsoReturnToRefused(BadRequest):
    code = "sso_return_to_refused"
    default_message = "After signing in, only a page of this site can be shown."


class SsoStateInvalid(BadRequest):
    code = "sso_state_invalid"
    default_message = "This sign-in was not started in this browser, was used, or has expired."


class SsoDenied(Unauthorized):
    code = "sso_denied"
    default_message = "The provider did not sign you in."


class SsoCodeRefused(Unauthorized):
    code = "sso_code_refused"
    default_message = "The provider refused the sign-in: start again."


class SsoTokenInvalid(Unauthorized):
    code = "sso_token_invalid"
    default_message = "The provider's answer could not be verified."


class SsoProviderUnavailable(ServiceUnavailable):
    code = "sso_provider_unavailable"
    default_message = "The single sign-on provider cannot be reached; try again later."


class SsoEmailUnverified(Forbidden):
    code = "sso_email_unverified"
    default_message = "The provider has not verified your email address."


class SsoDomainRefused(Forbidden):
    code = "sso_domain_refused"
    default_message = "Your email domain may not sign in with this provider."


class SsoNoAccount(Forbidden):
    code = "sso_no_account"
    default_message = "There is no account for you here; ask an administrator for an invite."


class SsoSignupClosed(Forbidden):
    code = "sso_signup_closed"
    default_message = "Sign-up is by invitation or approval; request access first."


class SsoAccountExists(Forbidden):
    code = "sso_account_exists"
    default_message = (
        "An account with your email exists and this provider may not sign in to it: "
        "log in with your password."
    )


class SsoLinkNeedsPassword(Forbidden):
    code = "sso_link_needs_password"
    default_message = (
        "Your account has a second factor, so single sign-on is not linked to it "
        "automatically: log in with your password and code."
    )


class SsoIdentityNotFound(NotFound):
    code = "sso_identity_not_found"
    default_message = "There is no such single sign-on link on your account."
