"""Record versions: a creation opens the first version without looking for one to close, and each later
write closes the open version and opens the next in as few statements as the backend allows."""

from __future__ import annotations

from typing import Any

import pytest
from piccolo.engine.postgres import PostgresEngine

from roster.db import current_engine
from roster.history.tables import RecordVersion
from tests.conftest import Api
from tests.integration.db.test_counters import statements_sent
from tests.integration.db.test_page_cache import license_of, ok, physician


def _record_version_statements(sent: list[str]) -> list[str]:
    plain = [q.replace('"', "") for q in sent]
    return [q for q in plain if "record_version" in q and "roster_version SET" not in q]


async def _versions(entity_id: str) -> list[dict[str, Any]]:
    return (
        await RecordVersion.select(
            RecordVersion.recorded_from, RecordVersion.recorded_to, RecordVersion.data, RecordVersion.roster_version
        )
        .where(RecordVersion.entity_id == entity_id)
        .order_by(RecordVersion.recorded_from)
        .output(load_json=True)
        .run()
    )


async def test_a_creation_inserts_its_first_version_and_closes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await physician(api, 1)
    created: dict[str, Any] = {}

    async def create() -> None:
        created.update(await license_of(api, owner["id"]))

    statements = _record_version_statements(await statements_sent(monkeypatch, create()))
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT"), statements
    [version] = await _versions(created["id"])
    assert version["recorded_to"] is None and version["data"]["number"] == "MD1"


async def test_each_update_closes_the_open_version_and_opens_the_next(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await physician(api, 1)
    lic = await license_of(api, owner["id"])
    url = f"/api/v1/licenses/{lic['id']}"

    async def patch() -> None:
        await ok(await api.patch(url, json={"restricted": True}))

    statements = _record_version_statements(await statements_sent(monkeypatch, patch()))
    expected = 1 if isinstance(current_engine(), PostgresEngine) else 2  # SQLite's run inline, one at a time
    assert len(statements) == expected, statements
    await ok(await api.patch(url, json={"number": "md2"}))
    await ok(await api.delete(url), 204)

    versions = await _versions(lic["id"])
    assert [v["data"]["restricted"] for v in versions] == [False, True, True, True]
    assert [v["data"]["number"] for v in versions] == ["MD1", "MD1", "MD2", "MD2"]
    assert [v["recorded_to"] for v in versions[:-1]] == [v["recorded_from"] for v in versions[1:]]
    assert versions[-1]["recorded_to"] is None  # the deletion is the open version
    stamps = [v["roster_version"] for v in versions]
    assert all(stamp is not None and stamp > 0 for stamp in stamps) and stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({"expires_on": "1990-01-01"}, 422, "expires_on"), ({"state": "ZZ"}, 422, "state")],
)
async def test_a_rejected_update_leaves_the_versions_as_they_were(
    api: Api, body: dict[str, Any], status: int, field: str
) -> None:
    owner = await physician(api, 1)
    lic = await license_of(api, owner["id"])
    before = await _versions(lic["id"])
    response = await api.patch(f"/api/v1/licenses/{lic['id']}", json=body)
    assert response.status_code == status, response.text
    assert field in {error["field"] for error in response.json()["errors"]}
    assert await _versions(lic["id"]) == before
