"""Which events become feed items, who may see each, and the sentence it reads as.

Each feed-worthy event kind has a describer: a pure function of the event's data, naming the
people it mentions by marks the feed fills in when the item is read. Security events about one
user (a revoked session, a changed email) are for the tenant's admins and that user; the rest
are for every member. Kinds in :data:`NOT_IN_FEED` are known and left out by design; any
other kind is unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from agentbus_activity import naming
from agentbus_shared.contracts import auth as auth_contract
from agentbus_shared.contracts import billing, chat, platform, tenant_admin, tenants, users
from agentbus_shared.contracts.activity import ActivitySubject
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.subjects import ActivityAudience

E = TypeVar("E", bound=EventData)

WORKSPACE_HREF = "/team"
ACCOUNT_HREF = "/account"
BILLING_HREF = "/billing"
CHAT_HREF = "/chat"


@dataclass(frozen=True)
class FeedEntry:
    """What one event says in the feed, before it gets its id, tenant and time."""

    summary: str
    audience: ActivityAudience = "members"
    actor_id: str | None = None
    subject: ActivitySubject | None = None
    concerns_user_id: str | None = None
    """The user an item is about: they see an ``admins`` item about them too."""


class Names:
    """How a describer names people: marks the feed fills in when the item is read
    (:mod:`agentbus_activity.naming`)."""

    def of(self, user_id: str) -> str:
        return naming.mark(user_id)

    def who(self, user_id: str) -> str:
        """The name at the start of a sentence."""
        return naming.mark(user_id, sentence_start=True)


Describer = Callable[[Any, Names], FeedEntry]
_DESCRIBERS: dict[type[EventData], Describer] = {}

NOT_IN_FEED: frozenset[type[EventData]] = frozenset(
    {
        auth_contract.EmailRequested,
        users.NotificationPreferencesChanged,
        chat.UsageRecorded,
        billing.EntitlementsUpdated,
        platform.TenantDeprovisionRequested,
        platform.TenantDeprovisioned,
        *platform.DATA_DELETED_EVENTS,
    }
)
"""Known kinds that never make an item: mail, metering and entitlement plumbing, a user's own
preferences, and the deprovisioning saga (the tenant is going away)."""


def describes(event: type[E]) -> Callable[[Callable[[E, Names], FeedEntry]], Describer]:
    def register(describe: Callable[[E, Names], FeedEntry]) -> Describer:
        _DESCRIBERS[event] = describe
        return describe

    return register


def describer(event: type[EventData]) -> Describer | None:
    return _DESCRIBERS.get(event)


def feed_kinds() -> frozenset[type[EventData]]:
    """Every event kind that makes a feed item."""
    return frozenset(_DESCRIBERS)


def _member(user_id: str, names: Names) -> ActivitySubject:
    return ActivitySubject(type="member", id=user_id, label=names.of(user_id), href=WORKSPACE_HREF)


def _account(user_id: str, names: Names) -> ActivitySubject:
    """A member as the subject of their own security event: their account's page."""
    return ActivitySubject(type="member", id=user_id, label=names.of(user_id), href=ACCOUNT_HREF)


def _workspace(tenant_id: str, label: str) -> ActivitySubject:
    return ActivitySubject(type="tenant", id=tenant_id, label=label, href=WORKSPACE_HREF)


# ------------------------------------------------------------------ auth
@describes(tenants.TenantCreated)
def _tenant_created(data: tenants.TenantCreated, names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{names.who(data.owner_user_id)} created the workspace {naming.plain(data.name)}",
        actor_id=data.owner_user_id,
        subject=_workspace(data.tenant_id, naming.plain(data.name)),
    )


@describes(auth_contract.UserRegistered)
def _user_registered(data: auth_contract.UserRegistered, names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{names.who(data.user_id)} created an account",
        actor_id=data.user_id,
        subject=_member(data.user_id, names),
    )


@describes(tenants.MemberChanged)
def _member_changed(data: tenants.MemberChanged, names: Names) -> FeedEntry:
    member = names.of(data.user_id)
    if data.role is None:
        summary = f"{names.who(data.changed_by)} removed {member} from the workspace"
    elif data.changed_by == data.user_id:
        summary = f"{names.who(data.user_id)} joined the workspace as {data.role}"
    else:
        summary = f"{names.who(data.changed_by)} made {member} {data.role}"
    return FeedEntry(
        summary=summary,
        actor_id=data.changed_by,
        subject=_member(data.user_id, names),
        concerns_user_id=data.user_id,
    )


@describes(tenant_admin.TenantUpdated)
def _tenant_updated(data: tenant_admin.TenantUpdated, names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{names.who(data.changed_by)} renamed the workspace to {naming.plain(data.name)}",
        actor_id=data.changed_by,
        subject=_workspace(data.tenant_id, naming.plain(data.name)),
    )


@describes(tenant_admin.TenantSettingsChanged)
def _settings_changed(data: tenant_admin.TenantSettingsChanged, names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{names.who(data.changed_by)} changed the workspace settings",
        audience="admins",
        actor_id=data.changed_by,
        subject=_workspace(data.tenant_id, "Workspace settings"),
    )


_REVOKED: dict[str, str] = {
    "logout": "signed out",
    "logout_all": "signed out everywhere",
    "revoked_by_user": "ended one of their sessions",
    "refresh_token_reused": "had a session ended: a refresh token was used twice",
    "password_changed": "had their other sessions ended after a password change",
    "password_reset": "had their sessions ended after a password reset",
    "password_reset_by_admin": "had their sessions ended: an admin reset their password",
    "operator_revoked": "had a session ended by an operator",
}


@describes(auth_contract.SessionRevoked)
def _session_revoked(data: auth_contract.SessionRevoked, names: Names) -> FeedEntry:
    what = _REVOKED.get(data.reason, f"had a session ended ({data.reason.replace('_', ' ')})")
    return FeedEntry(
        summary=f"{names.who(data.user_id)} {what}",
        audience="admins",
        actor_id=data.user_id,
        subject=_account(data.user_id, names),
        concerns_user_id=data.user_id,
    )


@describes(users.UserProfileChanged)
def _profile_changed(data: users.UserProfileChanged, names: Names) -> FeedEntry:
    if data.fields == ["email"]:
        what = "changed their email address"
    else:
        what = "updated their profile (" + ", ".join(f.replace("_", " ") for f in data.fields) + ")"
    return FeedEntry(
        summary=f"{names.who(data.user_id)} {what}",
        audience="admins",
        actor_id=data.user_id,
        subject=_account(data.user_id, names),
        concerns_user_id=data.user_id,
    )


@describes(platform.TenantSuspended)
def _suspended(data: platform.TenantSuspended, _names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"An operator suspended the workspace: {naming.plain(data.reason)}",
        audience="admins",
        subject=_workspace(data.tenant_id, "Workspace"),
    )


@describes(platform.TenantReactivated)
def _reactivated(data: platform.TenantReactivated, _names: Names) -> FeedEntry:
    return FeedEntry(
        summary="An operator reactivated the workspace",
        subject=_workspace(data.tenant_id, "Workspace"),
    )


# ------------------------------------------------------------------ chat
@describes(chat.ConversationDeleted)
def _conversation_deleted(data: chat.ConversationDeleted, names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{names.who(data.deleted_by)} deleted a conversation",
        audience="admins",
        actor_id=data.deleted_by,
        subject=ActivitySubject(
            type="conversation", id=data.conversation_id, label="Conversation", href=CHAT_HREF
        ),
        concerns_user_id=data.deleted_by,
    )


# ------------------------------------------------------------------ billing
@describes(billing.SubscriptionChanged)
def _subscription_changed(data: billing.SubscriptionChanged, _names: Names) -> FeedEntry:
    summary = (
        f"The workspace is on the {naming.plain(data.plan)} plan ({data.status.replace('_', ' ')})"
    )
    if data.cancel_at_period_end:
        summary += ", ending at the end of the period"
    return FeedEntry(
        summary=summary,
        subject=ActivitySubject(
            type="subscription", id=data.plan, label=data.plan, href=BILLING_HREF
        ),
    )


@describes(billing.InvoiceChanged)
def _invoice_changed(data: billing.InvoiceChanged, _names: Names) -> FeedEntry:
    amount = f"{data.amount_due / 100:.2f} {data.currency.upper()}"
    return FeedEntry(
        summary=f"An invoice of {amount} is {data.status}",
        audience="admins",
        subject=ActivitySubject(
            type="invoice", id=data.invoice_id, label="Invoice", href=BILLING_HREF
        ),
    )


@describes(billing.UsageThresholdReached)
def _usage_threshold(data: billing.UsageThresholdReached, _names: Names) -> FeedEntry:
    return FeedEntry(
        summary=f"{data.percent}% of this period's {data.meter} used ({data.used} of {data.limit})",
        subject=ActivitySubject(type="usage", id=data.meter, label=data.meter, href=BILLING_HREF),
    )
