"""The self-service profile: profile fields, consents and notification preferences, each refusal
included, over the bus with the real servers."""

from __future__ import annotations

from auth_support import Account, AuthClient, ClientFor, ReadEvents, StartAuth
from profile_support import profile

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.profile.service import ProfileService, RequiredConsents
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.users import ConsentsAccept

ALL_ON: dict[str, dict[str, bool]] = {
    kind: {"email": True, "in_app": True}
    for kind in ("security", "billing", "product", "incidents")
}


# ---------------------------------------------------------------- profile
async def test_the_profile_changes_only_the_fields_sent(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register(display_name="Ada")
    before = await profile(client, account)
    assert (before["email"], before["display_name"], before["timezone"]) == (
        account.email,
        "Ada",
        None,
    )

    first = {"given_name": "Ada", "family_name": "Lovelace", "timezone": "Europe/London"}
    await client.call("users.me.update", first, token=account.access_token)
    after = await client.call(
        "users.me.update",
        {"locale": "en-GB", "avatar_url": "https://cdn.example.com/ada.png", "timezone": None},
        token=account.access_token,
    )

    assert {k: after.data[k] for k in (*first, "display_name", "locale", "avatar_url")} == {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "timezone": None,
        "display_name": "Ada",
        "locale": "en-GB",
        "avatar_url": "https://cdn.example.com/ada.png",
    }
    assert await profile(client, account) == after.data
    changed = await events("events.auth.*.user.profile_changed", 2)
    assert [e["data"]["fields"] for e in changed] == [
        ["family_name", "given_name", "timezone"],
        ["avatar_url", "locale", "timezone"],
    ]


async def test_bad_profile_values_are_refused_and_nothing_is_stored(client: AuthClient) -> None:
    account = await client.register()
    for bad in (
        {"timezone": "Mars/Olympus_Mons"},
        {"locale": "english please"},
        {"avatar_url": "http://cdn.example.com/a.png"},
        {"avatar_url": "https://user:secret@cdn.example.com/a.png"},
        {"avatar_url": "https://cdn.example.com/" + "a" * 2100},
        {"given_name": "x" * 101},
        {"avatar_url": "https://cdn.example.com/a b.png"},
        {"avatar_url": "https://cdn.example.com/a\tb.png"},
        {"avatar_url": "https://cdn.example.com/\u202egnp.exe"},
        {"timezone": "localtime"},
        {"timezone": "Factory"},
        {"timezone": "EST5EDT"},
        {"timezone": "Etc/GMT+5"},
        {"display_name": "   "},
        {"given_name": "Ada\r\nBcc: x"},
        {"family_name": "\u202eecalevol"},
        {"display_name": "Agentbus\u2066Security"},
    ):
        error = await client.error("users.me.update", bad, token=account.access_token)
        assert (error.status, error.code) == (422, "validation_failed"), bad
    stored = await profile(client, account)
    assert (stored["timezone"], stored["locale"], stored["avatar_url"]) == (None, None, None)
    assert stored["given_name"] is None


async def test_profile_values_are_stored_normalised(client: AuthClient) -> None:
    account = await client.register()
    changed = await client.call(
        "users.me.update",
        {
            "avatar_url": "https://CDN.Example.com/ada.png",
            "timezone": "UTC",
            "given_name": "Zoë",
            "family_name": "\u0645\u06cc\u200c\u0631",  # a zero-width non-joiner, as Persian needs
        },
        token=account.access_token,
    )
    assert changed.data["avatar_url"] == "https://cdn.example.com/ada.png"
    assert (changed.data["timezone"], changed.data["given_name"]) == ("UTC", "Zoë")


async def test_a_profile_is_the_callers_own(client: AuthClient) -> None:
    ada, bob = await client.register(), await client.register()
    await client.call("users.me.update", {"given_name": "Ada"}, token=ada.access_token)
    seen_by_bob = await profile(client, bob)
    assert (seen_by_bob["id"], seen_by_bob["given_name"]) == (bob.user_id, None)
    # A user id in the body is not a field of the update: it cannot aim at someone else.
    error = await client.error(
        "users.me.update", {"user_id": ada.user_id, "given_name": "B"}, token=bob.access_token
    )
    assert error.status == 422
    assert (await profile(client, ada))["given_name"] == "Ada"


# ---------------------------------------------------------------- consents
async def test_consents_given_at_registration_are_recorded_with_their_time(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    email = client.new_email()
    registered = await client.call(
        "register",
        {
            "email": email,
            "password": client.password,
            "tenant_name": "Acme",
            "terms_version": settings.terms_version,
            "privacy_version": settings.privacy_version,
        },
    )
    account = Account.from_result(email, client.password, registered.data)

    consents = (await client.call("users.consents", token=account.access_token)).data

    assert consents["due"] is False
    assert [(c["document"], c["accepted_version"], c["due"]) for c in consents["items"]] == [
        ("terms", settings.terms_version, False),
        ("privacy", settings.privacy_version, False),
    ]
    assert all(c["accepted_at"] for c in consents["items"])
    assert [c["document_url"] for c in consents["items"]] == [None, None]  # none published
    me = (await client.call("me", token=account.access_token)).data
    assert me["consents_due"] is False


async def test_an_account_without_the_current_versions_is_asked_until_it_accepts(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    account = await client.register()  # an API client registering without consents still can
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is True
    assert (await profile(client, account))["consents_due"] is True

    outdated = await client.error(
        "users.consents.accept", {"terms_version": "1999-01-01"}, token=account.access_token
    )
    assert (outdated.status, outdated.code) == (422, "consent_version_outdated")
    nothing = await client.error("users.consents.accept", {}, token=account.access_token)
    assert nothing.status == 422
    half = await client.call(
        "users.consents.accept",
        {"terms_version": settings.terms_version},
        token=account.access_token,
    )
    assert half.data["due"] is True
    done = await client.call(
        "users.consents.accept",
        {"privacy_version": settings.privacy_version},
        token=account.access_token,
    )

    assert done.data["due"] is False
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is False
    audited = await client.parts.audit.entries(kind=AuditKind.CONSENTS_ACCEPTED)
    assert len([e for e in audited if e.user_id == account.user_id]) == 2


async def test_an_account_made_by_accepting_an_invite_records_its_consents(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    owner = await client.register_verified()
    email = client.new_email("invited")
    token = await client.invite(owner, email)
    accepted = await client.call(
        "tenants.invites.accept",
        {
            "token": token,
            "password": client.password,
            "terms_version": settings.terms_version,
            "privacy_version": settings.privacy_version,
        },
    )
    account = Account.from_result(email, client.password, accepted.data)
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is False


async def test_the_documents_addresses_are_given_where_they_are_accepted(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    terms, privacy = "https://example.com/terms", "https://example.com/privacy"
    client = client_for(await start_auth(terms_url=terms, privacy_url=privacy))
    account = await client.register()

    policy = (await client.call("signup.policy")).data
    consents = (await client.call("users.consents", token=account.access_token)).data

    assert (policy["terms_url"], policy["privacy_url"]) == (terms, privacy)
    assert [c["document_url"] for c in consents["items"]] == [terms, privacy]


async def test_only_the_current_versions_are_recorded_at_registration_or_invite(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    email = client.new_email()
    register = {"email": email, "password": client.password, "tenant_name": "Acme"}
    for versions in ({"terms_version": "any text"}, {"privacy_version": "1999-01-01"}):
        refused = await client.error("register", {**register, **versions})
        assert (refused.status, refused.code) == (422, "consent_version_outdated"), versions
        assert refused.details[0]["loc"] == [next(iter(versions))]
    nothing = await client.error("login", {"email": email, "password": client.password})
    assert nothing.code == "invalid_credentials"  # no account was made
    owner = await client.register_verified()
    token = await client.invite(owner, client.new_email("invited"))
    invited = {"token": token, "password": client.password}
    stale = await client.error(
        "tenants.invites.accept", {**invited, "terms_version": "0.9", "privacy_version": "x"}
    )
    assert (stale.status, stale.code) == (422, "consent_version_outdated")

    accepted = await client.call(
        "tenants.invites.accept", {**invited, "terms_version": settings.terms_version}
    )

    assert accepted.data["tokens"]  # the invite was not used up by the refusal
    account = Account.from_result(accepted.data["user"]["email"], client.password, accepted.data)
    consents = (await client.call("users.consents", token=account.access_token)).data
    assert [(c["accepted_version"], c["due"]) for c in consents["items"]] == [
        (settings.terms_version, False),
        (None, True),
    ]


async def test_a_rollback_to_a_version_accepted_before_asks_for_nothing(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    account = await client.register()
    older = RequiredConsents(terms=settings.terms_version, privacy=settings.privacy_version)
    newer = RequiredConsents(terms="2099-01-01", privacy=settings.privacy_version)
    meta = RequestMeta(client_ip="127.0.0.1")
    for required in (older, newer):  # accepted the older version, then the newer one
        await ProfileService(client.parts.db, required=required).accept(
            account.user_id,
            ConsentsAccept(terms_version=required.terms, privacy_version=required.privacy),
            meta,
        )

    rolled_back = ProfileService(client.parts.db, required=older)
    consents = await rolled_back.consents(account.user_id)

    assert consents.due is False
    assert await rolled_back.consents_due(account.user_id) is False
    assert consents.items[0].accepted_version == settings.terms_version
    newest = await ProfileService(client.parts.db, required=newer).consents(account.user_id)
    assert newest.due is False


# ---------------------------------------------------------------- notification preferences
async def test_notification_preferences_are_stored_per_kind_and_channel(
    client: AuthClient, events: ReadEvents
) -> None:
    account, other = await client.register(), await client.register()
    defaults = (
        await client.call("users.notification_preferences", token=account.access_token)
    ).data
    assert defaults["security"] == {"email": True, "in_app": True}
    assert defaults["product"] == {"email": False, "in_app": True}
    chosen = {**ALL_ON, "billing": {"email": False, "in_app": True}}

    saved = await client.call(
        "users.notification_preferences.update", chosen, token=account.access_token
    )

    assert saved.data == chosen
    read = await client.call("users.notification_preferences", token=account.access_token)
    assert read.data == chosen
    others = await client.call("users.notification_preferences", token=other.access_token)
    assert others.data == defaults
    changed = await events("events.auth.*.user.notification_preferences_changed", 1)
    assert changed[0]["data"]["user_id"] == account.user_id
    assert changed[0]["data"]["preferences"]["billing"]["email"] is False


async def test_security_mail_cannot_be_turned_off(client: AuthClient) -> None:
    account = await client.register()
    off = {**ALL_ON, "security": {"email": False, "in_app": True}}

    error = await client.error(
        "users.notification_preferences.update", off, token=account.access_token
    )

    assert (error.status, error.code) == (422, "security_email_required")
    assert error.details[0]["loc"] == ["security", "email"]
    stored = await client.call("users.notification_preferences", token=account.access_token)
    assert stored.data["security"]["email"] is True
    partial = await client.error(
        "users.notification_preferences.update",
        {"security": {"email": True, "in_app": True}},
        token=account.access_token,
    )
    assert partial.status == 422


async def test_notification_preferences_are_replaced_whole(client: AuthClient) -> None:
    account = await client.register()
    chosen = {**ALL_ON, "billing": {"email": False, "in_app": False}}
    await client.call("users.notification_preferences.update", chosen, token=account.access_token)

    for partial in (
        {"security": {"email": True, "in_app": True}, "billing": {"email": True, "in_app": True}},
        {**ALL_ON, "billing": {"email": True}},
        {**ALL_ON, "newsletter": {"email": True, "in_app": True}},
    ):
        refused = await client.error(
            "users.notification_preferences.update", partial, token=account.access_token
        )
        assert (refused.status, refused.code) == (422, "validation_failed"), partial

    stored = await client.call("users.notification_preferences", token=account.access_token)
    assert stored.data == chosen
