"""``agentbus auth …``: operator commands for signing keys, accounts, platform operators, signup
invites and the audit trail.

They talk to the database (and Redis for unlocking) with the same settings as
the service. Against the dev stack, ``--var-dir var`` reads the URLs from
``var/stack.json`` and the generated secrets from ``var/dev-secrets.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from agentbus_auth.app import AuthParts, build
from agentbus_auth.keys.service import RotationTooSoon, published
from agentbus_auth.settings import AuthSettings
from agentbus_auth.throttle import account_key
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.signup import SignupInviteCreate, SignupInviteView
from agentbus_shared.errors import AgentbusError, NotFound

app = typer.Typer(help="Auth: signing keys, accounts, audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys (next → active → retired).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
operators_app = typer.Typer(
    help="Platform operators (scope platform:operate), granted one by one.", no_args_is_help=True
)
signup_app = typer.Typer(help="Who may sign up: platform signup invites.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(operators_app, name="operators")
app.add_typer(signup_app, name="signup")

CLI_ACTOR = "cli"
"""The audit trail's actor of every change made with these commands."""

T = TypeVar("T")

VarDir = Annotated[
    Path | None,
    typer.Option(help="A dev stack's var directory: take its URLs and generated secrets."),
]


def settings_for(var_dir: Path | None) -> AuthSettings:
    """The service's settings, completed from a dev stack's files when ``var_dir`` is given."""
    if var_dir is not None:
        stack = var_dir / "stack.json"
        if stack.exists():
            for name, url in json.loads(stack.read_text()).get("urls", {}).items():
                os.environ.setdefault(name, url)
        secrets_file = var_dir / "dev-secrets.json"
        if secrets_file.exists():
            for name, value in json.loads(secrets_file.read_text()).items():
                os.environ.setdefault(name, value)
    return AuthSettings()


def _run(var_dir: Path | None, work: Callable[[AuthParts], Awaitable[T]]) -> T:
    """Run ``work`` on the service's parts (its database and Redis; the bus stays unused)."""
    settings = settings_for(var_dir)

    async def main() -> T:
        runtime = build(settings, configure_process=False)
        parts = runtime.parts_as(AuthParts)
        try:
            return await work(parts)
        finally:
            parts.hasher.close()
            await runtime.database.dispose()
            await runtime.redis_client.aclose()

    return asyncio.run(main())


@keys_app.command("rotate")
def keys_rotate(
    force: Annotated[
        bool, typer.Option(help="Rotate even if the next key is younger than the JWKS cache age.")
    ] = False,
    var_dir: VarDir = None,
) -> None:
    """Promote the next key to active, retire the active one, create a new next key.

    No outstanding token becomes invalid: the retired key stays published until
    every token it signed has expired.
    """

    async def work(parts: AuthParts) -> None:
        try:
            result = await parts.keyring.rotate(force=force)
        except RotationTooSoon as exc:
            typer.echo(f"not rotated: {exc.message}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"active:  {result.activated}")
        typer.echo(f"next:    {result.next}")
        if result.retired:
            until = result.retired_published_until
            typer.echo(f"retired: {result.retired} (published until {until:%Y-%m-%d %H:%M:%S} UTC)")
        typer.echo(
            "running replicas sign with the new key within "
            f"{parts.keyring.timings.reload_interval:.0f}s"
        )

    _run(var_dir, work)


@keys_app.command("list")
def keys_list(var_dir: VarDir = None) -> None:
    """Every signing key with its state and whether the JWKS publishes it."""

    async def work(parts: AuthParts) -> None:
        keys = await parts.keyring.stored()
        shown = {k.kid for k in published(keys, datetime.now(UTC))}
        for key in keys:
            marks = "published" if key.kid in shown else "unpublished"
            until = f" until {key.publish_until:%Y-%m-%d %H:%M:%S}" if key.publish_until else ""
            typer.echo(
                f"{key.kid}  {key.state:<8} created {key.created_at:%Y-%m-%d %H:%M:%S}  "
                f"{marks}{until}"
            )

    _run(var_dir, work)


@users_app.command("pending")
def users_pending(var_dir: VarDir = None) -> None:
    """Accounts waiting for approval (signup policy ``approval``)."""

    async def work(parts: AuthParts) -> None:
        for user in await parts.accounts.pending_approval():
            typer.echo(f"{user.id}  {user.email}  signed up {user.created_at:%Y-%m-%d %H:%M}")

    _run(var_dir, work)


@users_app.command("approve")
def users_approve(email: str, var_dir: VarDir = None) -> None:
    """Let a pending account log in."""

    async def work(parts: AuthParts) -> bool:
        return await parts.accounts.approve(email, actor=CLI_ACTOR)

    approved = _unless_unknown(email, lambda: _run(var_dir, work))
    typer.echo(f"{email}: {'approved' if approved else 'not waiting for approval'}")


@users_app.command("unlock")
def users_unlock(email: str, var_dir: VarDir = None) -> None:
    """Lift a login lockout now."""

    async def work(parts: AuthParts) -> None:
        await parts.throttle.unlock(account_key(email))

    _run(var_dir, work)
    typer.echo(f"{email}: unlocked")


@users_app.command("remove-mfa")
def users_remove_mfa(email: str, var_dir: VarDir = None) -> None:
    """Remove a user's second factor (TOTP and recovery codes), for one who lost it or whose
    account got one from someone else. Audited as ``mfa.removed_by_operator``; the user is mailed.
    """

    async def work(parts: AuthParts) -> bool:
        return await parts.mfa.remove_by_operator(email, actor=CLI_ACTOR)

    removed = _unless_unknown(email, lambda: _run(var_dir, work))
    typer.echo(f"{email}: {'second factor removed' if removed else 'no second factor'}")


@users_app.command("enable")
def users_enable(email: str, var_dir: VarDir = None) -> None:
    """Enable a disabled account again (its owner asked, or it was disabled by someone else).
    Audited as ``account.enabled_by_operator``; the user is mailed."""

    async def work(parts: AuthParts) -> bool:
        return await parts.account_changes.enable_by_operator(email, actor=CLI_ACTOR)

    enabled = _unless_unknown(email, lambda: _run(var_dir, work))
    typer.echo(f"{email}: {'enabled' if enabled else 'not disabled'}")


@operators_app.command("grant")
def operators_grant(email: str, var_dir: VarDir = None) -> None:
    """Give the account of EMAIL (its address verified) the scope platform:operate.

    It holds the scope from its next login or token refresh.
    """

    async def work(parts: AuthParts) -> bool:
        return await parts.operators.grant(email, actor=CLI_ACTOR)

    granted = _refusing_errors(lambda: _run(var_dir, work))
    typer.echo(f"{email}: {'granted platform:operate' if granted else 'already an operator'}")


@operators_app.command("revoke")
def operators_revoke(email: str, var_dir: VarDir = None) -> None:
    """Take platform:operate away from EMAIL and end its sessions."""

    async def work(parts: AuthParts) -> bool:
        return await parts.operators.revoke(email, actor=CLI_ACTOR)

    revoked = _refusing_errors(lambda: _run(var_dir, work))
    typer.echo(f"{email}: {'revoked, sessions ended' if revoked else 'not an operator'}")


@operators_app.command("list")
def operators_list(var_dir: VarDir = None) -> None:
    """Every platform operator, with who granted it and when."""

    async def work(parts: AuthParts) -> None:
        for operator in await parts.operators.listed():
            typer.echo(
                f"{operator.email}  granted {operator.granted_at:%Y-%m-%d %H:%M:%S} UTC "
                f"by {operator.granted_by}"
            )

    _run(var_dir, work)


@signup_app.command("invite")
def signup_invite(
    email: str,
    note: Annotated[str | None, typer.Option(help="For operators; not mailed.")] = None,
    var_dir: VarDir = None,
) -> None:
    """Mail EMAIL a signup invite: one account, for that address, within the invite's lifetime.

    The way in of a platform whose signup policy is invite_only, its first operator included.
    """

    async def work(parts: AuthParts) -> SignupInviteView:
        invite = SignupInviteCreate(email=email, note=note)
        return await parts.signup.invite(CLI_ACTOR, invite, RequestMeta())

    sent = _refusing_errors(lambda: _run(var_dir, work))
    typer.echo(
        f"{sent.email}: signup invite {sent.id} mailed, valid until {sent.expires_at:%Y-%m-%d %H:%M} UTC"
    )


def _unless_unknown(email: str, command: Callable[[], T]) -> T:
    """Run ``command``; an unknown account exits 1."""
    try:
        return command()
    except NotFound:
        typer.echo(f"no account with email {email}", err=True)
        raise typer.Exit(1) from None


def _refusing_errors(command: Callable[[], T]) -> T:
    """Run ``command``; a refusal (no such account, unverified email) exits 1 with its reason."""
    try:
        return command()
    except AgentbusError as exc:
        typer.echo(f"refused: {exc.message}", err=True)
        raise typer.Exit(1) from None


@app.command("audit")
def audit(
    email: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. account.locked.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    var_dir: VarDir = None,
) -> None:
    """The newest audit entries (logins and security events) as JSON lines."""

    async def work(parts: AuthParts) -> None:
        for entry in await parts.audit.entries(email=email or None, kind=kind, limit=limit):
            typer.echo(
                json.dumps(
                    {
                        "at": entry.occurred_at.isoformat(),
                        "kind": entry.kind,
                        "user_id": entry.user_id,
                        "tenant_id": entry.tenant_id,
                        "actor_id": entry.actor_id,
                        "ip": entry.ip,
                        "details": entry.details,
                    }
                )
            )

    if email:
        _unless_unknown(email, lambda: _run(var_dir, work))
    else:
        _run(var_dir, work)
