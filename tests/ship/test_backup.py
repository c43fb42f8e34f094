"""The backup and restore commands of docs/deploy.md ("Backups"), run as written against a
running porch (the release build): SQLite's online `.backup`, and pg_dump/pg_restore on the
machine's PostgreSQL. A restored store must let the same client sign in with its secret, and
the guest read the message it sent before the backup."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import porch_harness
from porch_harness import Porch
from ship import RELEASE_BIN, run

POSTGRES = "postgres://postgres@127.0.0.1:5432"


@pytest.fixture(autouse=True)
def release_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(porch_harness, "PORCH_BIN", str(RELEASE_BIN))


def chat(porch: Porch) -> dict:
    guest = porch.create_guest("Bea")
    porch.expect(201, "POST", "/api/v2/webmessaging/guests/messages", bearer=guest["accessToken"],
                 json_body={"clientMessageId": "b-1", "text": "keep me"})
    return guest


def history(porch: Porch, guest: dict) -> list[str]:
    body = porch.expect(200, "GET", "/api/v2/webmessaging/guests/messages", bearer=guest["accessToken"])
    return [m["text"] for m in body["messages"]]


def restored_from(source: Porch, *store_args: str) -> Porch:
    """A porch on a restored store: the records are the source's, not new ones."""
    restored = Porch(*store_args)
    restored.client, restored.agent, restored.deployment = source.client, source.agent, source.deployment
    return restored


def test_sqlite_online_backup_restores_into_a_working_store() -> None:
    source = Porch().start()
    backup_dir = Path(tempfile.mkdtemp(prefix="porch-backup-"))
    restored = restored_from(source)
    try:
        guest = chat(source)
        backup = backup_dir / "porch.db"
        # docs/deploy.md: while Porch runs.
        run("sqlite3", f"{source.data_dir}/porch.db", f".backup '{backup}'")
        assert run("sqlite3", str(backup), "PRAGMA integrity_check").stdout.strip() == "ok"
        source.stop()
        shutil.copy(backup, Path(restored.data_dir) / "porch.db")
        restored.start()
        restored.client_token()  # the client's secret still signs in
        assert history(restored, guest) == ["keep me"], "the guest's token and message survived"
    finally:
        source.stop()
        restored.stop()
        shutil.rmtree(backup_dir, ignore_errors=True)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    names = (f"porch_backup_{secrets.token_hex(4)}", f"porch_restore_{secrets.token_hex(4)}")
    for name in names:
        run("psql", f"{POSTGRES}/postgres", "-c", f"CREATE DATABASE {name}")
    try:
        yield names
    finally:
        for name in names:
            run("psql", f"{POSTGRES}/postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


def test_postgres_dump_restores_into_a_working_store(databases: tuple[str, str]) -> None:
    source_db, target_db = databases
    source = Porch("--store", f"{POSTGRES}/{source_db}").start()
    restored = restored_from(source, "--store", f"{POSTGRES}/{target_db}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            guest = chat(source)
            dump = Path(tmp) / "porch.dump"
            # docs/deploy.md: pg_dump while Porch runs, pg_restore into an empty database.
            run("pg_dump", "--format=custom", f"--file={dump}", f"{POSTGRES}/{source_db}")
            source.stop()
            run("pg_restore", "--no-owner", f"--dbname={POSTGRES}/{target_db}", str(dump))
            restored.start()
            restored.client_token()
            assert history(restored, guest) == ["keep me"]
        finally:
            source.stop()
            restored.stop()
