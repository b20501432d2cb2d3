"""A large import goes a chunk at a time: the result must not depend on where the chunks fall."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from roster.audit.tables import AuditEvent
from roster.certifications import service as certifications
from roster.certifications.tables import Certification
from roster.db import current_engine
from roster.history.tables import RecordVersion
from roster.imports import repository, service, validation
from roster.licenses import service as licenses
from roster.licenses.tables import License
from roster.physicians import service as physicians
from roster.physicians.tables import Physician
from tests import factories
from tests.conftest import Api
from tests.integration.imports import roster_files as files
from tests.integration.imports.test_routes import stored, upload


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 2 records and audit batches of 3: seven physicians cross every boundary."""
    monkeypatch.setattr(validation, "CHUNK", 2)
    monkeypatch.setattr(service, "CHUNK", 2)
    monkeypatch.setattr(service, "BATCH", 3)


def owned(table: Any) -> list[Any]:
    return [c.as_alias("physician_id") if c._meta.name == "physician" else c for c in table._meta.columns]


async def documents(entity: str) -> dict[str, tuple[Any, Any]]:
    """Each record's create event ``after`` and open version ``data``, by record id."""
    events = await AuditEvent.select().where(AuditEvent.entity == entity).output(load_json=True).run()
    versions = await RecordVersion.select().where(RecordVersion.entity == entity).output(load_json=True).run()
    by_id = {str(v["entity_id"]): v["data"] for v in versions}
    return {e["entity_id"]: (e["after"], by_id[e["entity_id"]]) for e in events if e["action"] == "create"}


async def test_documents_of_new_records_are_their_read_schemas(api: Api, small_chunks: None) -> None:
    rows = files.roster_rows(7)
    rows[3]["languages"] = "en; es"
    rows[6]["former_last_names"] = "Ortega"
    rows[9]["time_zone"] = "America/Chicago"
    response = await upload(api, files.csv_bytes(rows))
    assert response.status_code == 200, response.text
    assert response.json()["changes"]["physicians"] == {"created": 7, "updated": 0, "unchanged": 0}
    assert await stored() == {"physicians": 7, "licenses": 7, "certifications": 7, "audit": 21, "versions": 21}

    expected = {
        "physician": {str(r["id"]): physicians.snapshot(physicians.to_read(r)) for r in await Physician.select().run()},
        "license": {
            str(r["id"]): msgspec.to_builtins(licenses.to_read(r)) for r in await License.select(*owned(License)).run()
        },
        "certification": {
            str(r["id"]): msgspec.to_builtins(certifications.to_read(r))
            for r in await Certification.select(*owned(Certification)).run()
        },
    }
    for entity, reads in expected.items():
        found = await documents(entity)
        assert found.keys() == reads.keys()
        for record_id, (after, version) in found.items():
            assert after == reads[record_id] == version, (entity, record_id)
    by_npi = {r["npi"]: r for r in await Physician.select().run()}
    assert by_npi[factories.npi(2)]["languages"] == ["en", "es"]
    assert by_npi[factories.npi(3)]["former_last_names"] == ["Ortega"]
    assert by_npi[factories.npi(4)]["time_zone"] == "America/Chicago"
    owners = {str(r["physician_id"]) for r in await License.select(*owned(License)).run()}
    assert owners == {str(r["id"]) for r in by_npi.values()}, "each credential is its own physician's"


async def test_a_reimport_across_chunks_updates_only_what_changed(api: Api, small_chunks: None) -> None:
    rows = files.roster_rows(7)
    assert (await upload(api, files.csv_bytes(rows))).status_code == 200
    before = await stored()
    rows[18]["max_open_cases"] = "25"  # physician 7, in the last chunk
    rows[4]["expires_on"] = "2031-01-31"  # physician 2's license, in the first
    rows += files.roster_rows(2, start=8)  # new ones after existing ones
    response = await upload(api, files.csv_bytes(rows))
    assert response.status_code == 200, response.text
    assert response.json()["changes"] == {
        "physicians": {"created": 2, "updated": 1, "unchanged": 6},
        "licenses": {"created": 2, "updated": 1, "unchanged": 6},
        "certifications": {"created": 2, "updated": 0, "unchanged": 7},
    }
    after = await stored()
    assert after["physicians"] == 9 and after["audit"] == before["audit"] + 8
    physician = (await api.get(f"/api/v1/physicians/npi/{factories.npi(7)}")).json()
    assert physician["max_open_cases"] == 25


async def index_definitions() -> list[tuple[str, str]]:
    rows = await Physician.raw(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    ).run()
    return [(r["name"], r["sql"]) for r in rows]


async def test_indexes_set_aside_for_a_load_are_rebuilt_or_rolled_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from piccolo.engine.sqlite import SQLiteEngine

    from roster.history import service as history

    rebuilt: list[list[str]] = []
    restore = repository.restore_indexes

    async def spying(statements: list[str]) -> None:
        rebuilt.append(list(statements))
        await restore(statements)

    monkeypatch.setattr(repository, "restore_indexes", spying)
    sqlite = isinstance(current_engine(), SQLiteEngine)
    indexes = await index_definitions() if sqlite else []

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(history, "record_changes", broken)
        assert (await upload(api, files.csv_bytes(files.roster_rows(3)))).status_code == 500
    assert rebuilt == [], "the failure came before the rebuild"
    if sqlite:
        assert await index_definitions() == indexes, "the rollback brought the indexes back"

    assert (await upload(api, files.csv_bytes(files.roster_rows(3)))).status_code == 200
    [statements] = rebuilt
    if not sqlite:
        assert statements == [], "PostgreSQL keeps its indexes"
        return
    assert "CREATE INDEX ix_record_version_entity_id ON record_version (entity_id)" in statements
    assert await index_definitions() == indexes
    lookup = await Physician.raw("EXPLAIN QUERY PLAN SELECT id FROM record_version WHERE entity_id = {}", "x").run()
    assert any("ix_record_version_entity_id" in str(row) for row in lookup)

    rebuilt.clear()
    assert (await upload(api, files.csv_bytes(files.roster_rows(2, start=4)))).status_code == 200
    assert rebuilt == [[]], "a load smaller than the tables keeps their indexes"
