"""``agentbus db backup`` / ``agentbus db restore`` against a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from agentbus_shared import backup, cli, manifest
from agentbus_shared.servers import PostgresServer

SCHEMAS = [m.schema for m in manifest.with_schema() if m.schema]


class Db:
    """psql on the test's own database."""

    def __init__(self, server: PostgresServer, url: str) -> None:
        self.server = server
        self.url = url
        self.name = urlsplit(url).path.lstrip("/")

    def sql(self, statement: str) -> str:
        return self.server.psql(statement, database=self.name)

    def events(self, schema: str) -> list[str]:
        rows = self.sql(
            f"SELECT consumer || ':' || event_id FROM {schema}.processed_events ORDER BY 1"
        )
        return rows.split() if rows else []

    def add_events(self, schema: str, *ids: str) -> None:
        values = ", ".join(f"('test', '{i}')" for i in ids)
        self.sql(f"INSERT INTO {schema}.processed_events (consumer, event_id) VALUES {values}")


@pytest.fixture
def db(postgres_server: PostgresServer, database_url: str) -> Db:
    return Db(postgres_server, database_url)


def run(db: Db, *args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args), env={"DATABASE_URL": db.url})
    assert result.exit_code == 0, result.output
    return result.output


def test_backup_then_restore_brings_every_schema_back_as_it_was(db: Db, tmp_path: Path) -> None:
    for schema in SCHEMAS:
        db.add_events(schema, f"{schema}-1", f"{schema}-2")
    before = {schema: db.events(schema) for schema in SCHEMAS}
    revisions = {s: db.sql(f"SELECT version_num FROM {s}.alembic_version") for s in SCHEMAS}

    run(db, "db", "backup", str(tmp_path / "backup"))
    for schema in SCHEMAS:
        db.sql(f"DELETE FROM {schema}.processed_events WHERE event_id = '{schema}-1'")
        db.add_events(schema, f"{schema}-after-backup")
    db.sql(f"DROP TABLE {SCHEMAS[0]}.outbox")
    run(db, "db", "restore", str(tmp_path / "backup"), "--yes")

    assert {schema: db.events(schema) for schema in SCHEMAS} == before
    assert db.sql(f"SELECT count(*) FROM {SCHEMAS[0]}.outbox") == "0"
    assert {s: db.sql(f"SELECT version_num FROM {s}.alembic_version") for s in SCHEMAS} == revisions


def test_backup_describes_each_archive_with_its_checksum(db: Db, tmp_path: Path) -> None:
    output = run(db, "db", "backup", str(tmp_path / "b"))
    described = json.loads((tmp_path / "b" / "backup.json").read_text())
    assert [a["schema"] for a in described["schemas"]] == SCHEMAS
    for archive in described["schemas"]:
        assert (tmp_path / "b" / archive["file"]).stat().st_size == archive["size"]
        assert len(archive["sha256"]) == 64
        assert archive["schema"] in output
    assert described["database"] == db.name
    assert described["pg_dump_version"].startswith("pg_dump")


def test_restoring_one_service_leaves_the_other_schemas_alone(db: Db, tmp_path: Path) -> None:
    first, *others = SCHEMAS
    run(db, "db", "backup", str(tmp_path / "b"))
    for schema in SCHEMAS:
        db.add_events(schema, "later")
    service = next(m.name for m in manifest.with_schema() if m.schema == first)

    run(db, "db", "restore", str(tmp_path / "b"), "--service", service, "--yes")

    assert db.events(first) == []
    for schema in others:
        assert db.events(schema) == ["test:later"]


def test_backup_of_one_service_holds_only_its_schema(db: Db, tmp_path: Path) -> None:
    service = manifest.with_schema()[-1]
    run(db, "db", "backup", str(tmp_path / "b"), "-s", service.name)
    manifest_ = backup.BackupManifest.read(tmp_path / "b")
    assert manifest_.schema_names == [service.schema]
    with pytest.raises(backup.BackupError, match="has no schema"):
        backup.restore(
            db.url, tmp_path / "b", [SCHEMAS[0] if SCHEMAS[0] != service.schema else SCHEMAS[1]]
        )


def test_damaged_archive_is_refused_and_data_is_untouched(db: Db, tmp_path: Path) -> None:
    schema = SCHEMAS[0]
    db.add_events(schema, "kept")
    backup.backup(db.url, [schema], tmp_path / "b")
    archive = tmp_path / "b" / f"{schema}.dump"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")

    result = CliRunner().invoke(
        cli.app, ["db", "restore", str(tmp_path / "b"), "--yes"], env={"DATABASE_URL": db.url}
    )

    assert result.exit_code == 1
    assert "checksum" in result.output
    assert db.events(schema) == ["test:kept"]


def test_truncated_archive_leaves_the_schema_as_it_was(db: Db, tmp_path: Path) -> None:
    schema = SCHEMAS[0]
    backup.backup(db.url, [schema], tmp_path / "b")
    db.add_events(schema, "newer")
    # A truncated archive whose recorded checksum matches: pg_restore fails partway through.
    archive = tmp_path / "b" / f"{schema}.dump"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    described = json.loads((tmp_path / "b" / "backup.json").read_text())
    described["schemas"][0]["sha256"] = backup._sha256(archive)
    (tmp_path / "b" / "backup.json").write_text(json.dumps(described))

    with pytest.raises(backup.BackupError, match=schema):
        backup.restore(db.url, tmp_path / "b")

    assert db.events(schema) == ["test:newer"]


def test_restore_asks_before_replacing_data(db: Db, tmp_path: Path) -> None:
    backup.backup(db.url, SCHEMAS, tmp_path / "b")
    db.add_events(SCHEMAS[0], "kept")
    result = CliRunner().invoke(
        cli.app, ["db", "restore", str(tmp_path / "b")], input="n\n", env={"DATABASE_URL": db.url}
    )
    assert result.exit_code == 1
    assert db.events(SCHEMAS[0]) == ["test:kept"]


def test_backup_refuses_a_directory_that_holds_one_and_unknown_services(
    db: Db, tmp_path: Path
) -> None:
    backup.backup(db.url, SCHEMAS[:1], tmp_path / "b")
    with pytest.raises(backup.BackupError, match="already holds a backup"):
        backup.backup(db.url, SCHEMAS[:1], tmp_path / "b")
    with pytest.raises(backup.BackupError, match="no such schema"):
        backup.backup(db.url, ["nope"], tmp_path / "c")
    result = CliRunner().invoke(
        cli.app, ["db", "backup", str(tmp_path / "d"), "-s", "nope"], env={"DATABASE_URL": db.url}
    )
    assert result.exit_code != 0
    assert "no schema owned by: nope" in result.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://app:p%40ss@db.internal:6543/agentbus?ssl=require",
            {
                "PGHOST": "db.internal",
                "PGPORT": "6543",
                "PGUSER": "app",
                "PGPASSWORD": "p@ss",
                "PGDATABASE": "agentbus",
                "PGSSLMODE": "require",
            },
        ),
        ("postgres://h/x", {"PGHOST": "h", "PGPORT": "5432", "PGDATABASE": "x"}),
    ],
)
def test_connection_settings_reach_pg_dump_without_a_password_on_the_command_line(
    url: str, expected: dict[str, str]
) -> None:
    assert backup.libpq_env(url) == expected


def test_a_url_that_is_not_postgres_is_refused(tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="not a PostgreSQL URL"):
        backup.libpq_env("mysql://h/x")
    with pytest.raises(backup.BackupError, match="not an agentbus backup"):
        backup.restore("postgresql://h/x", tmp_path)


def test_restore_that_fails_while_loading_is_rolled_back(db: Db, tmp_path: Path) -> None:
    schema = SCHEMAS[0]
    db.add_events(schema, "old")
    backup.backup(db.url, [schema], tmp_path / "b")
    db.add_events(schema, "newer")
    # An event trigger refuses the restore's index creation: by then the schema has been
    # dropped and its tables recreated and filled, all inside the restore's transaction.
    db.sql(
        "CREATE FUNCTION public.refuse_index() RETURNS event_trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'index creation refused'; END $$"
    )
    db.sql(
        "CREATE EVENT TRIGGER refuse_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX', "
        "'ALTER TABLE') EXECUTE FUNCTION public.refuse_index()"
    )

    with pytest.raises(backup.BackupError, match="rolled back"):
        backup.restore(db.url, tmp_path / "b")

    db.sql("DROP EVENT TRIGGER refuse_index")
    assert db.events(schema) == ["test:newer", "test:old"]
