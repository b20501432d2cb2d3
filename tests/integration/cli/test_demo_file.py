"""``roster demo`` gives every credentialing-file rule a live example (issue 15): verifications of every
element, timely and late decisions, passed and failed IRR sessions, a policy update some reviewers have not
attested, CME cycles on track and short; a second run adds none of them again."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from roster.config import Settings
from roster.credentialing import service as credentialing
from roster.credentialing.rules import ELEMENTS
from roster.credentialing.tables import CmeCredit, CredentialingDecision, IrrSession, PolicyUpdate, Verification
from roster.db import close_engine, open_engine
from roster.physicians.tables import Physician
from tests.conftest import TempDatabase
from tests.integration.cli.test_cli import run


async def _file(settings: Settings) -> dict[str, Any]:
    engine = await open_engine(settings)
    try:
        verifications = await Verification.select(Verification.element, Verification.verified_by).run()
        decisions = await CredentialingDecision.select().output(load_json=True).run()
        sessions = await IrrSession.select(IrrSession.passed).run()
        active = await Physician.select(Physician.id).where(Physician.status == "active").run()
        overdue, short = 0, 0
        requirements = credentialing.cme_requirements(settings)
        for row in active:
            status = await credentialing.attestation_status(row["id"])
            overdue += any(item.overdue for item in status.items)
            short += (await credentialing.cme_standing(row["id"], requirements)).short
        return {
            "elements": Counter(v["element"] for v in verifications),
            "automatic": Counter(v["element"] for v in verifications if v["verified_by"] == "demo"),
            "decisions": Counter((d["kind"], d["timely"]) for d in decisions),
            "late_elements": Counter(e["element"] for d in decisions for e in d["late_elements"]),
            "sessions": Counter(s["passed"] for s in sessions),
            "updates": await PolicyUpdate.count().run(),
            "credits": await CmeCredit.count().run(),
            "overdue": overdue,
            "short": short,
            "active": len(active),
        }
    finally:
        await close_engine(engine)


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_every_credentialing_rule_has_a_live_example(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    run(settings, "demo")
    first = asyncio.run(_file(settings))
    assert set(first["elements"]) == set(ELEMENTS) - {"dea_cds"}, "every element a demo file needs is verified"
    assert first["automatic"]["sanctions"] >= first["active"] - 12, "the demo's screening run records clean ones"
    assert first["elements"]["license"] > first["active"], "licenses saved verified are recorded too"
    for kind in ("initial", "recredentialing"):
        assert first["decisions"][(kind, True)] >= 1 and first["decisions"][(kind, False)] >= 1, kind
    assert set(first["late_elements"]) == {"work_history"}
    assert first["sessions"][True] >= 100 and first["sessions"][False] >= 10
    assert first["updates"] == 2 and 0 < first["overdue"] < first["active"]
    assert first["credits"] > 0 and 0 < first["short"] < first["active"]

    run(settings, "demo")
    again = asyncio.run(_file(settings))
    assert {k: again[k] for k in ("decisions", "sessions", "updates", "credits")} == {
        k: first[k] for k in ("decisions", "sessions", "updates", "credits")
    }
    assert again["elements"] - first["elements"] == Counter(), "a re-run on the same day verifies nothing anew"
