"""``agentbus auth …``: key rotation and listing, approvals, unlocking, the audit trail."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyotp
import pytest
from auth_support import AuthClient, ClientFor, StartAuth
from sqlalchemy import update
from typer.testing import CliRunner, Result

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.cli import app, settings_for
from agentbus_auth.models import users
from agentbus_shared import cli as agentbus_cli
from agentbus_shared.errors import AgentbusError

runner = CliRunner()


async def invoke(*args: str) -> Result:
    # The commands run their own event loop: keep it off this test's loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_keys_rotate_refuses_too_soon_then_rotates_when_forced(client: AuthClient) -> None:
    account = await client.register()
    too_soon = await invoke("keys", "rotate")
    assert too_soon.exit_code == 1
    assert "not rotated" in too_soon.output

    old_kid = client.parts.keyring.active_kid
    rotated = await invoke("keys", "rotate", "--force")
    assert rotated.exit_code == 0, rotated.output
    assert f"retired: {old_kid}" in rotated.output

    await client.parts.keyring.load()
    assert client.parts.keyring.active_kid != old_kid
    assert client.claims(account.access_token).sub == account.user_id

    listed = await invoke("keys", "list")
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3
    assert sum("active" in line for line in lines) == 1
    assert all("published" in line for line in lines)

    audit = await invoke("audit", "--kind", "key.rotated")
    entries = [json.loads(line) for line in audit.output.strip().splitlines()]
    assert entries[0]["details"]["retired"] == old_kid


async def test_pending_accounts_are_listed_and_approved(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(signup_policy="approval"))
    await client.call(
        "register", {"email": "later@example.com", "password": client.password, "tenant_name": "L"}
    )
    pending = await invoke("users", "pending")
    assert "later@example.com" in pending.output
    approved = await invoke("users", "approve", "later@example.com")
    assert "approved" in approved.output
    assert (await client.login("later@example.com", client.password)).data["access_token"]
    again = await invoke("users", "approve", "later@example.com")
    assert "not waiting for approval" in again.output
    unknown = await invoke("users", "approve", "nobody@example.com")
    assert unknown.exit_code == 1


async def test_approving_a_disabled_account_does_not_enable_it(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(signup_policy="approval"))
    await client.call(
        "register", {"email": "gone@example.com", "password": client.password, "tenant_name": "G"}
    )
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(users)
            .where(users.c.email_normalized == "gone@example.com")
            .values(status="disabled")
        )
    refused = await invoke("users", "approve", "gone@example.com")
    assert "not waiting for approval" in refused.output
    with pytest.raises(AgentbusError):
        await client.login("gone@example.com", client.password)


async def test_unlock_lifts_a_lockout(client: AuthClient) -> None:
    account = await client.register()
    for _ in range(5):
        await client.error("login", {"email": account.email, "password": "wrong-guess-abcdef"})
    assert (
        await client.error("login", {"email": account.email, "password": client.password})
    ).status == 429
    result = await invoke("users", "unlock", account.email)
    assert result.exit_code == 0
    assert (await client.login(account.email, client.password)).data["access_token"]


async def test_remove_mfa_takes_a_users_second_factor_off_audited_and_mailed(
    client: AuthClient,
) -> None:
    account = await client.register()
    enrollment = await client.call(
        "mfa.totp.enroll", {"current_password": client.password}, token=account.access_token
    )
    await client.call(
        "mfa.totp.verify",
        {
            "code": pyotp.TOTP(enrollment.data["secret"]).now(),
            "current_password": client.password,
        },
        token=account.access_token,
    )
    assert (await client.login(account.email, client.password)).status == 202

    removed = await invoke("users", "remove-mfa", account.email)

    assert removed.exit_code == 0, removed.output
    assert "second factor removed" in removed.output
    assert (await client.login(account.email, client.password)).data["access_token"]
    audited = await client.parts.audit.entries(kind=AuditKind.MFA_REMOVED_BY_OPERATOR)
    assert [(e.user_id, e.actor_id) for e in audited] == [(account.user_id, "cli")]
    alert = await client.mail.wait(account.email, "security_alert", count=2)
    assert "removed by an operator" in str(alert.get_payload(decode=True))
    again = await invoke("users", "remove-mfa", account.email)
    assert (again.exit_code, "no second factor" in again.output) == (0, True)
    unknown = await invoke("users", "remove-mfa", "nobody@example.com")
    assert unknown.exit_code == 1


async def test_enable_lets_a_disabled_account_sign_in_again_audited_and_mailed(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.call(
        "users.disable", {"current_password": client.password}, token=member.access_token
    )

    enabled = await invoke("users", "enable", member.email)

    assert enabled.exit_code == 0, enabled.output
    assert "enabled" in enabled.output
    assert (await client.login(member.email, client.password)).data["access_token"]
    audited = await client.parts.audit.entries(kind=AuditKind.ACCOUNT_ENABLED_BY_OPERATOR)
    assert [(e.user_id, e.actor_id) for e in audited] == [(member.user_id, "cli")]
    alert = await client.mail.wait(member.email, "security_alert", count=2)
    assert "enabled again by an operator" in str(alert.get_payload(decode=True))
    again = await invoke("users", "enable", member.email)
    assert (again.exit_code, "not disabled" in again.output) == (0, True)
    unknown = await invoke("users", "enable", "nobody@example.com")
    assert unknown.exit_code == 1


async def test_audit_shows_a_users_logins(client: AuthClient) -> None:
    account = await client.register()
    await client.login(account.email, client.password)
    result = await invoke("audit", "--email", account.email, "--kind", "login.succeeded")
    entries = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [(e["user_id"], e["ip"]) for e in entries] == [(account.user_id, client.ip)]
    missing = await invoke("audit", "--email", "nobody@example.com")
    assert missing.exit_code == 1


def test_a_dev_stack_var_dir_provides_urls_and_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "AUTH_KEY_ENCRYPTION_KEY", "AUTH_CODE_KEY"):
        monkeypatch.setenv(name, "")  # remembered, so the values read below are undone after
        monkeypatch.delenv(name)
    (tmp_path / "stack.json").write_text(
        json.dumps({"urls": {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/agentbus"}})
    )
    (tmp_path / "dev-secrets.json").write_text(
        json.dumps({"AUTH_KEY_ENCRYPTION_KEY": "dev-insecure-generated-1"})
    )
    settings = settings_for(tmp_path)
    assert settings.database_url.get_secret_value().endswith(":1/agentbus")
    assert settings.key_encryption_key.get_secret_value() == "dev-insecure-generated-1"


def test_the_operator_cli_has_the_auth_commands() -> None:
    agentbus_cli._add_service_commands()
    result = runner.invoke(agentbus_cli.app, ["auth", "keys", "--help"])
    assert result.exit_code == 0
    assert "rotate" in result.output
