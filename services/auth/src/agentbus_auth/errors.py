"""Domain errors of the auth service, each with its stable code (mapped to problem details once,
at the gateway, through the shared error hierarchy)."""

from __future__ import annotations

from typing import Any

from agentbus_shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)

CREDENTIALS_MESSAGE = "The email or password is not correct, or the account is locked."
"""One wording for an unknown email, a wrong password and a locked account (no enumeration)."""


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = CREDENTIALS_MESSAGE


class AccountLocked(RateLimited):
    code = "account_locked"
    default_message = CREDENTIALS_MESSAGE


class InvalidCurrentPassword(Forbidden):
    code = "invalid_current_password"
    default_message = "The current password is not correct."


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    default_message = "Too many attempts; try again later."


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    default_message = "The refresh token is not valid."


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    default_message = "The refresh token was already used; the session has been revoked."


class InvalidChallenge(Unauthorized):
    code = "invalid_mfa_challenge"
    default_message = "The MFA challenge is not valid or has expired; log in again."


class InvalidMfaCode(Unauthorized):
    code = "invalid_mfa_code"
    default_message = "The code is not correct."


class InvalidCode(BadRequest):
    code = "invalid_code"
    default_message = "The code is not correct or has expired."


class InvalidInvite(BadRequest):
    code = "invalid_invite"
    default_message = "The invite is not valid, was already used or has expired."


class InvalidClient(Unauthorized):
    code = "invalid_client"
    default_message = "The client credentials are not valid."


class InvalidScope(BadRequest):
    code = "invalid_scope"
    default_message = "The requested scope is not allowed."


class WeakPassword(ValidationFailed):
    code = "weak_password"

    def __init__(self, reasons: list[str], *, field: str = "password") -> None:
        details: list[dict[str, Any]] = [
            {"loc": [field], "msg": reason, "type": "weak_password"} for reason in reasons
        ]
        super().__init__("The password is too weak: " + " ".join(reasons), details=details)


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class TooManyInvites(RateLimited):
    code = "too_many_invites"
    default_message = "This tenant has sent as many invites as it may in a day; try again later."


class TooManyPendingInvites(RateLimited):
    code = "too_many_pending_invites"
    default_message = (
        "This tenant has too many open invites; wait until some are accepted or expire."
    )


class EmailUnverified(Forbidden):
    code = "email_unverified"
    default_message = "Verify your email address first."


class SignupClosed(Forbidden):
    code = "signup_closed"
    default_message = "Sign-up is by invitation only."


class AccountPending(Forbidden):
    code = "account_pending_approval"
    default_message = "The account is waiting for approval."


class AccountDisabled(Forbidden):
    code = "account_disabled"
    default_message = "The account is disabled."


class NoMembership(Forbidden):
    code = "no_membership"
    default_message = "The account is not a member of this tenant."


class LastOwner(Conflict):
    """The change would leave tenants without an active owner; ``details.tenants`` names them."""

    code = "last_owner"
    default_message = "The last owner of a tenant cannot be removed or demoted."

    def __init__(self, tenants: list[str]) -> None:
        super().__init__(details={"tenants": tenants})


class OwnerOnly(Forbidden):
    code = "owner_only"
    default_message = "Only an owner can grant, change or remove the owner role."


class MemberNotFound(NotFound):
    code = "member_not_found"
    default_message = "No such member in this tenant."


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = "This person is already a member of the tenant."


class SessionNotFound(NotFound):
    code = "session_not_found"
    default_message = "No such session."


class ServiceAccountNotFound(NotFound):
    code = "service_account_not_found"
    default_message = "No such service account."


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    default_message = "TOTP is already enabled."


class MfaNotEnrolled(Conflict):
    code = "mfa_not_enrolled"
    default_message = "Start TOTP enrollment first."


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    default_message = "TOTP is not enabled."


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    default_message = "The email address is already verified."


class PasswordRequired(BadRequest):
    code = "password_required"
    default_message = "A password is required."


class InvalidSignupInvite(BadRequest):
    code = "invalid_signup_invite"
    default_message = (
        "The signup invite is not valid for this email, was already used, revoked or has expired."
    )


class SignupQuotaExceeded(RateLimited):
    code = "signup_quota_exceeded"
    default_message = "Too many sign-ups from this network or email domain; try again later."


class SignupRequestNotFound(NotFound):
    code = "signup_request_not_found"
    default_message = "No such access request."


class SignupRequestDecided(Conflict):
    code = "signup_request_decided"
    default_message = "This access request was already approved or rejected."


class SignupInviteNotFound(NotFound):
    code = "signup_invite_not_found"
    default_message = "No such signup invite."


class SignupInviteUsed(Conflict):
    code = "signup_invite_used"
    default_message = "This signup invite was already used; it cannot be revoked."


class LastOwnerLeaving(LastOwner):
    """Disabling the account would leave tenants without an active owner (same code and shape
    as :class:`LastOwner`, a message of its own)."""

    default_message = (
        "You are the last owner of a team: make another member an owner first, "
        "then disable your account."
    )


class MfaCodeRequired(Unauthorized):
    code = "mfa_code_required"
    default_message = (
        "Two-factor authentication is on: enter a code from your app or a recovery code."
    )


class SecurityMailRequired(ValidationFailed):
    code = "security_email_required"

    def __init__(self) -> None:
        super().__init__(
            "Security notifications by email cannot be turned off: they tell you when someone "
            "signs in, changes your password or your email.",
            details=[{"loc": ["security", "email"], "msg": "must stay on", "type": self.code}],
        )


class ConsentVersionOutdated(ValidationFailed):
    code = "consent_version_outdated"

    def __init__(self, document: str, required: str) -> None:
        super().__init__(
            f"The current {document} version is {required}.",
            details=[
                {
                    "loc": [f"{document}_version"],
                    "msg": "not the current version",
                    "type": "consent_version_outdated",
                }
            ],
        )


class EmailUnchanged(ValidationFailed):
    code = "email_unchanged"
    default_message = "This is already the email address of the account."


class SlugTaken(Conflict):
    code = "slug_taken"
    default_message = "Another tenant uses this slug; choose another one."


class InviteNotFound(NotFound):
    code = "invite_not_found"
    default_message = "No such pending invite in this tenant."


class InvalidWebhookUrl(ValidationFailed):
    code = "invalid_webhook_url"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The webhook URL is not accepted: {reason}.",
            details=[{"loc": ["webhook_url"], "msg": reason, "type": "invalid_webhook_url"}],
        )


class FlagsTooLarge(ValidationFailed):
    code = "flags_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The flags take more than {limit} bytes as JSON.",
            details=[{"loc": ["flags"], "msg": f"at most {limit} bytes", "type": "too_large"}],
        )


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    default_message = "No such tenant."


class TenantNotActive(Conflict):
    """Deprovisioning has started (or ended): the tenant can no longer be suspended or
    reactivated."""

    code = "tenant_not_active"
    default_message = "The tenant is being deprovisioned or was deleted."


class UnknownPlan(ValidationFailed):
    code = "unknown_plan"

    def __init__(self, plan: str) -> None:
        super().__init__(
            f"There is no plan {plan!r} in the catalog.",
            details=[{"loc": ["plan"], "msg": "not a plan of the catalog", "type": self.code}],
        )


class PlanNeedsPayment(ValidationFailed):
    code = "plan_needs_payment"

    def __init__(self, plan: str) -> None:
        super().__init__(
            f"The {plan} plan is paid: the tenant's owner subscribes to it with their card.",
            details=[{"loc": ["plan"], "msg": "a paid plan", "type": self.code}],
        )


# Why a single sign-on was refused: the gateway sends the browser to
# ``/login?sso_error=<code>`` and the login page words the code.


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
