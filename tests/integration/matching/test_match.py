"""POST /api/v1/match through the HTTP app: ranking, reasons, jurisdiction, replay and bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine

from roster.app import create_app
from roster.history.tables import ASSIGNMENTS, ROSTER, RosterVersion
from tests import factories
from tests.conftest import Api, serving
from tests.integration.matching.roster import PHYSICIANS, case, match, ok, reviewer


async def test_ranked_eligible_reviewers_and_reason_counts(api: Api) -> None:
    same = await reviewer(api, 1)
    similar = await reviewer(
        api,
        2,
        specialties=["hematology"],
        certifications=(factories.certification(specialty="hematology"),),
    )
    elsewhere = await reviewer(api, 3, licenses=(factories.license(state="CA", number="CA1"),))
    inactive = await reviewer(api, 4)
    await ok(await api.delete(f"{PHYSICIANS}/{inactive['id']}"))

    result = await match(api)

    assert result["evaluated"] == 4
    assert result["as_of"] == factories.TODAY.isoformat()
    assert [e["physician_id"] for e in result["eligible"]] == [same["id"], similar["id"]]
    top = result["eligible"][0]
    assert top["npi"] == same["npi"] and top["name"] == "Ada Reviewer0001"
    assert top["specialty_match"] == "same" and result["eligible"][1]["specialty_match"] == "similar"
    assert top["score"] > result["eligible"][1]["score"]
    assert top["open_cases"] == 0
    assert top["license"] == {
        "state": "AZ",
        "number": same["licenses"][0]["number"],
        "expires_on": same["licenses"][0]["expires_on"],
    }
    assert result["ineligible"] == {"inactive": 1, "no_license_in_state": 1}
    # Medicare Advantage accepts a license in any state: the CA-only reviewer becomes eligible.
    ma = await match(api, line_of_business="medicare_advantage")
    assert elsewhere["id"] in [e["physician_id"] for e in ma["eligible"]]
    assert ma["ineligible"] == {"inactive": 1}


async def test_explain_lists_every_reason_of_every_ineligible_physician(api: Api) -> None:
    await reviewer(api, 1)
    bad = await reviewer(
        api,
        2,
        lines_of_business=["medicaid"],
        specialties=["cardiology"],
        certifications=(factories.certification(board="ABIM", specialty="cardiology", moc_status="not_meeting"),),
        licenses=(factories.license(status="probation"),),
        clinical_practice_start=(factories.TODAY - timedelta(days=2 * 365)).isoformat(),
    )
    result = await match(api, explain=True)
    assert result["ineligible"] == [
        {
            "physician_id": bad["id"],
            "name": "Ada Reviewer0002",
            "reasons": [
                "license_restricted",
                "certification_lapsed",
                "insufficient_experience",
                "line_of_business",
                "specialty_mismatch",
            ],
        }
    ]
    counts = (await match(api))["ineligible"]
    assert counts == {
        "license_restricted": 1,
        "certification_lapsed": 1,
        "insufficient_experience": 1,
        "line_of_business": 1,
        "specialty_mismatch": 1,
    }


async def test_nucc_code_and_limit(api: Api) -> None:
    for n in range(1, 5):
        await reviewer(api, n)
    result = await match(api, specialty="207RX0202X", limit=2)
    assert len(result["eligible"]) == 2
    assert [e["npi"] for e in result["eligible"]] == [factories.npi(1), factories.npi(2)], "NPI breaks ties"


async def test_appeal_excludes_and_peer_to_peer_prefers_the_prior_reviewer(api: Api) -> None:
    first = await reviewer(api, 1)
    prior = await reviewer(api, 2)
    appeal = await match(api, review_type="appeal", prior_reviewer_ids=[prior["id"]])
    assert [e["physician_id"] for e in appeal["eligible"]] == [first["id"]]
    assert appeal["ineligible"] == {"prior_reviewer": 1}
    p2p = await match(api, review_type="peer_to_peer", prior_reviewer_ids=[prior["id"]])
    assert [e["physician_id"] for e in p2p["eligible"]] == [prior["id"], first["id"]]
    assert p2p["ineligible"] == {}


async def test_language_ranks_above_load(api: Api) -> None:
    await reviewer(api, 1, languages=["en"])
    speaker = await reviewer(api, 2, languages=["en", "vi"])
    result = await match(api, language="vi")
    assert result["eligible"][0]["physician_id"] == speaker["id"]


async def test_in_state_rule_applies_to_its_review_type_and_the_default_elsewhere(api: Api) -> None:
    # AZ requires an AZ license for initial (adverse prior-authorization) reviews; the shipped
    # organization default also requires the case's state for other review types and states.
    ca_only = await reviewer(api, 1, licenses=(factories.license(state="CA", number="CA1"),))
    assert (await match(api))["ineligible"] == {"no_license_in_state": 1}
    assert (await match(api, review_type="appeal"))["ineligible"] == {"no_license_in_state": 1}
    assert [e["physician_id"] for e in (await match(api, state="CA"))["eligible"]] == [ca_only["id"]]


async def test_in_state_default_off_accepts_any_state_except_where_the_state_requires(
    api: Api, migrated: object
) -> None:
    ca_only = await reviewer(api, 1, licenses=(factories.license(state="CA", number="CA1"),))
    settings = migrated.settings(required_sources=(), default_in_state_license=False)  # type: ignore[attr-defined]
    app = create_app(settings)
    async with serving(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def post(**overrides: object) -> dict:
                response = await client.post("/api/v1/match", json=case(**overrides), headers=api.auth("router"))
                assert response.status_code == 200, response.text
                return response.json()

            assert (await post())["ineligible"] == {"no_license_in_state": 1}, "AZ initial still needs AZ"
            assert [e["physician_id"] for e in (await post(review_type="appeal"))["eligible"]] == [ca_only["id"]]
            assert [e["physician_id"] for e in (await post(state="TX"))["eligible"]] == [ca_only["id"]]


async def test_a_write_is_seen_by_the_next_match_on_every_replica(api: Api, settings: object) -> None:
    physician = await reviewer(api, 1)
    replica = create_app(settings)  # type: ignore[arg-type]
    async with serving(replica):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replica), base_url="http://r") as other:

            async def eligible_on_replica() -> list[str]:
                response = await other.post("/api/v1/match", json=case(), headers=api.auth("router"))
                assert response.status_code == 200, response.text
                return [e["physician_id"] for e in response.json()["eligible"]]

            assert await eligible_on_replica() == [physician["id"]]
            assert [e["physician_id"] for e in (await match(api))["eligible"]] == [physician["id"]]
            license_id = physician["licenses"][0]["id"]
            await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"restricted": True}))
            assert await eligible_on_replica() == [], "the other replica rebuilt its index"
            assert (await match(api))["ineligible"] == {"license_restricted": 1}
            second = await reviewer(api, 2)
            assert await eligible_on_replica() == [second["id"]]


async def test_an_assignment_through_one_replica_fills_capacity_on_every_replica(api: Api, settings: object) -> None:
    physician = await reviewer(api, 1, max_open_cases=1)
    replica = create_app(settings)  # type: ignore[arg-type]
    async with serving(replica):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=replica), base_url="http://r") as other:

            async def on_replica() -> dict:
                response = await other.post("/api/v1/match", json=case(), headers=api.auth("router"))
                assert response.status_code == 200, response.text
                return response.json()

            assert [e["open_cases"] for e in (await on_replica())["eligible"]] == [0]
            assert len((await match(api))["eligible"]) == 1  # both replicas hold their counts now
            before = await counters()
            body = {**case(), "case_id": "C-9", "physician_id": physician["id"]}
            assigned = await ok(await api.post("/api/v1/assignments", role="router", json=body), 201)
            assert await counters() == (before[0], before[1] + 1), "assignments bump their own counter only"
            assert (await on_replica())["ineligible"] == {"at_capacity": 1}
            await ok(
                await api.patch(f"/api/v1/assignments/{assigned['id']}", role="router", json={"status": "cancelled"})
            )
            assert [e["open_cases"] for e in (await on_replica())["eligible"]] == [0]
            assert await counters() == (before[0], before[1] + 2)


async def counters() -> tuple[int, int]:
    rows = (
        await RosterVersion.select()
        .where(RosterVersion.id.is_in([ROSTER, ASSIGNMENTS]))
        .order_by(RosterVersion.id)
        .run()
    )
    return tuple(int(r["version"]) for r in rows)  # type: ignore[return-value]


JAN_10 = datetime(2025, 1, 10, 15, tzinfo=UTC)
JUN_01 = datetime(2025, 6, 1, 9, tzinfo=UTC)
NEXT_YEAR = datetime(2026, 3, 2, 12, tzinfo=UTC)


async def test_past_as_of_replays_history_after_later_edits(api: Api) -> None:
    with time_machine.travel(JAN_10, tick=False):
        physician = await reviewer(
            api,
            1,
            credentialed_on="2024-12-01",
            irr_passed_on="2024-12-15",
            licenses=(factories.license(expires_on="2027-12-31", verified_on="2025-01-09"),),
            certifications=(factories.certification(verified_on="2025-01-09"),),
        )
    with time_machine.travel(JUN_01, tick=False):
        license_id = physician["licenses"][0]["id"]
        await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"status": "suspended"}))
        await ok(await api.patch(f"{PHYSICIANS}/{physician['id']}", json={"lines_of_business": ["medicaid"]}))

    march = await match(api, as_of="2025-03-01")
    assert march["as_of"] == "2025-03-01"
    assert [e["physician_id"] for e in march["eligible"]] == [physician["id"]]
    assert march["eligible"][0]["license"]["expires_on"] == "2027-12-31"
    july = await match(api, as_of="2025-07-01")
    assert july["ineligible"] == {"license_restricted": 1, "line_of_business": 1}
    assert (await match(api, as_of="2025-01-09"))["evaluated"] == 0, "not on the roster yet"
    with time_machine.travel(NEXT_YEAR, tick=False):  # a fixed "today": the live roster, not history
        today = await match(api)
    assert today["as_of"] == "2026-03-02"
    assert today["ineligible"] == {"license_restricted": 1, "irr_overdue": 1, "line_of_business": 1}, "IRR lapsed since"


async def test_capacity_and_assignments_replayed(api: Api) -> None:
    physician = await reviewer(api, 1, max_open_cases=1)
    assigned = await ok(
        await api.post(
            "/api/v1/assignments",
            role="router",
            json={**case(), "case_id": "C-1", "physician_id": physician["id"]},
        ),
        201,
    )
    result = await match(api)
    assert result["eligible"] == [] and result["ineligible"] == {"at_capacity": 1}
    await ok(await api.patch(f"/api/v1/assignments/{assigned['id']}", role="router", json={"status": "completed"}))
    after = await match(api)
    assert [e["physician_id"] for e in after["eligible"]] == [physician["id"]]
    assert after["eligible"][0]["open_cases"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"specialty": "astrology"}, "specialty"),
        ({"specialty": "clinical_pharmacy"}, "specialty"),
        ({"state": "ZZ"}, "state"),
        ({"state": "arizona"}, "state"),
        ({"as_of": "2025-13-01"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": "9999-12-31"}, "as_of"),
        ({"as_of": "0001-01-01"}, "as_of"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"line_of_business": "dental"}, "line_of_business"),
        ({"review_type": "second_opinion"}, "review_type"),
        ({"language": "english"}, "language"),
        ({"prior_reviewer_ids": ["nope"]}, "prior_reviewer_ids.0"),
        ({"explain": "yes"}, "explain"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, body: dict, field: str) -> None:
    response = await api.post("/api/v1/match", role="router", json=case(**body))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_missing_field_and_roles(api: Api) -> None:
    body = case()
    del body["specialty"]
    response = await api.post("/api/v1/match", role="router", json=body)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "specialty"
    for role in ("credentialing", "manager", "auditor"):
        assert (await api.post("/api/v1/match", role=role, json=case())).status_code == 403
    assert (await api.post("/api/v1/match", role="admin", json=case())).status_code == 200


async def test_the_index_is_reused_until_the_roster_changes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from roster.matching import service

    builds = []
    real_build = service.RosterCache._build

    async def counting_build(self: service.RosterCache, version: int | None) -> service.RosterState:
        builds.append(version)
        return await real_build(self, version)

    monkeypatch.setattr(service.RosterCache, "_build", counting_build)
    physician = await reviewer(api, 1, max_open_cases=1)
    await match(api)
    await match(api)
    assert len(builds) == 1, "an unchanged roster is not rebuilt"
    created = await ok(
        await api.post(
            "/api/v1/assignments", role="router", json={**case(), "case_id": "C", "physician_id": physician["id"]}
        ),
        201,
    )
    assert (await match(api))["ineligible"] == {"at_capacity": 1}, "capacity is read live"
    assert len(builds) == 1, "an assignment is not a roster change"
    await ok(await api.patch(f"/api/v1/assignments/{created['id']}", role="router", json={"status": "completed"}))
    assert (await match(api))["eligible"][0]["open_cases"] == 0
    assert (await match(api, language="fr"))["eligible"][0]["score"] == (await match(api))["eligible"][0]["score"]
    await ok(await api.patch(f"{PHYSICIANS}/{physician['id']}", json={"languages": ["en", "fr"]}))
    french = (await match(api, language="fr"))["eligible"][0]["score"]
    assert french > (await match(api))["eligible"][0]["score"], "the write is seen"
    assert len(builds) == 1, (
        "a physician's write is patched in, not rebuilt (tests/integration/matching/test_refresh.py)"
    )


async def test_matches_in_flight_read_moved_open_case_counts_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """An assignment moves the assignments' counter while matches are in flight: one of them reads every
    open assignment again, the others wait for that read instead of each making their own (which stalled
    them all), and every one of them sees the new assignment."""
    from roster.matching import service

    reads = []
    real_counts = service.repository.open_assignment_counts_by_text

    async def slow_counts() -> list[tuple[str, int]]:
        reads.append(None)
        await asyncio.sleep(0.05)  # long enough for every match below to find the counts stale meanwhile
        return await real_counts()

    physician = await reviewer(api, 1, max_open_cases=3)
    assert (await match(api))["eligible"][0]["open_cases"] == 0
    await ok(
        await api.post(
            "/api/v1/assignments", role="router", json={**case(), "case_id": "C", "physician_id": physician["id"]}
        ),
        201,
    )
    monkeypatch.setattr(service.repository, "open_assignment_counts_by_text", slow_counts)
    results = await asyncio.gather(*(match(api) for _ in range(8)))
    assert [r["eligible"][0]["open_cases"] for r in results] == [1] * 8, "the assignment is seen by every match"
    assert reads == [None], "one read of the open cases for all the matches that found them stale"
    assert (await match(api))["eligible"][0]["open_cases"] == 1
    assert reads == [None], "then they are cached until the assignments' counter moves again"


@pytest.mark.parametrize(("field", "value"), [("explain", 0), ("limit", "5"), ("as_of", 20250101)])
async def test_bodies_are_decoded_strictly(api: Api, field: str, value: object) -> None:
    response = await api.post("/api/v1/match", role="router", json=case(**{field: value}))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
