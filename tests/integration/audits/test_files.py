"""``GET /api/v1/audits/files``: the sample as JSON, XLSX and the ZIP pack, reproducible by seed, audited."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
import zlib
from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from roster.audit.tables import AuditEvent
from roster.compliance.dates import add_months
from tests.conftest import Api
from tests.integration.credentialing.helpers import (
    API,
    REQUIRED,
    ago,
    decide,
    ok,
    physician,
    problem,
    verify,
    verify_all,
)

FILES = f"{API}/audits/files"
ZIP = "application/zip"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = {"period_start": ago(60).isoformat(), "period_end": ago(0).isoformat()}


async def roster(api: Api) -> dict[str, Any]:
    """Three initial and two recredentialing decisions in the period (one file with findings), one outside."""
    people: dict[str, Any] = {}
    for n in range(1, 4):
        doc = await physician(api, n)
        await verify_all(api, doc["id"], ago(40))
        people[f"initial{n}"] = (doc, await decide(api, doc["id"], "initial", ago(30)))
    for n in range(4, 6):
        doc = await physician(api, n)
        await decide(api, doc["id"], "initial", add_months(ago(20), -30))  # before the period
        await verify_all(api, doc["id"], ago(40))
        people[f"recred{n}"] = (doc, await decide(api, doc["id"], "recredentialing", ago(20)))
    # Findings: a late license, a board certification from the NPI Registry, no work history, a DEA held.
    flawed = await physician(api, 6)
    await verify_all(api, flawed["id"], ago(40), skip=("license", "board_certification", "work_history"))
    await verify(api, flawed["id"], "license", ago(10) - timedelta(days=121))
    await verify(api, flawed["id"], "board_certification", ago(15), method="nppes", source="NPPES")
    await verify(api, flawed["id"], "dea_cds", ago(15), source="DEA Diversion Control")
    people["flawed"] = (flawed, await decide(api, flawed["id"], "initial", ago(10), decision="deferred"))
    return people


async def files(api: Api, role: str = "auditor", **params: Any) -> dict[str, Any]:
    return await ok(await api.get(FILES, role=role, params={**PERIOD, **params}))


async def pulls(actor: str | None = None) -> list[dict[str, Any]]:
    query = AuditEvent.select().where(AuditEvent.entity == "audit_files")
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    return await query.output(load_json=True).run()


async def test_the_sample_scores_every_element_of_every_file(api: Api) -> None:
    people = await roster(api)
    body = await files(api, seed=11)
    # Six decisions in the period (fewer than 10 of each kind): the whole universe is the sample.
    assert body["seed"] == 11 and body["population"] == 6
    assert body["population_by_kind"] == {"initial": 4, "recredentialing": 2}
    assert len(body["sample"]) == 6
    in_period = {d["id"] for _, d in people.values()}
    assert {f["decision_id"] for f in body["sample"]} == in_period
    for item in body["sample"]:
        assert {"physician_id", "decision_id", "kind", "decided_on", "elements"} <= set(item)
        for element in item["elements"]:
            assert {"element", "present", "timely", "source_ok"} <= set(element)

    clean = next(f for f in body["sample"] if f["decision_id"] == people["initial1"][1]["id"])
    assert clean["kind"] == "initial" and clean["decided_on"] == ago(30).isoformat()
    assert [e["element"] for e in clean["elements"]] == list(REQUIRED)
    assert all(e["present"] and e["timely"] and e["source_ok"] for e in clean["elements"]) and clean["passes"]
    license = clean["elements"][0]["verification"]
    assert license["verified_on"] == ago(40).isoformat() and license["verified_by"] == "test-credentialing"

    flawed = next(f for f in body["sample"] if f["decision_id"] == people["flawed"][1]["id"])
    scores = {e["element"]: (e["present"], e["timely"], e["source_ok"]) for e in flawed["elements"]}
    assert scores["license"] == (True, False, True)
    assert scores["board_certification"] == (True, True, False)
    assert scores["work_history"] == (False, False, False)
    assert scores["dea_cds"] == (True, True, True)
    assert flawed["passes"] is False and flawed["decision"] == "deferred"


async def test_the_same_seed_and_period_draw_the_same_sample(api: Api) -> None:
    await roster(api)
    first = await files(api, sample=3)
    assert isinstance(first["seed"], int) and len(first["sample"]) == 3
    again = await files(api, sample=3, seed=first["seed"])
    assert again == first
    # Both kinds still represented within the requested size.
    assert {f["kind"] for f in first["sample"]} == {"initial", "recredentialing"}
    drawn = {tuple(f["decision_id"] for f in (await files(api, sample=3, seed=s))["sample"]) for s in range(8)}
    assert len(drawn) > 1, "the seed decides the draw"


async def test_decisions_outside_the_period_are_not_in_the_population(api: Api) -> None:
    await roster(api)
    body = await files(api, period_start=ago(25).isoformat(), period_end=ago(15).isoformat())
    assert body["population"] == 2 and {f["kind"] for f in body["sample"]} == {"recredentialing"}


async def test_every_pull_is_audited_with_the_caller_period_seed_and_files(api: Api) -> None:
    await roster(api)
    body = await files(api, role="manager", seed=5, sample=2)
    [event] = await pulls()
    assert event["actor"] == "test-manager" and event["action"] == "pull"
    after = event["after"]
    assert after["period_start"] == PERIOD["period_start"] and after["period_end"] == PERIOD["period_end"]
    assert after["seed"] == 5 and after["format"] == "json" and after["population"] == 6
    assert after["files"] == [
        {"physician_id": f["physician_id"], "decision_id": f["decision_id"]} for f in body["sample"]
    ]
    # And readable where auditors read the log.
    log = await ok(await api.get(f"{API}/audit", role="auditor", params={"entity": "audit_files"}))
    assert [e["id"] for e in log["items"]] == [str(event["id"])]


async def test_the_zip_holds_one_pdf_per_file_and_an_index(api: Api) -> None:
    await roster(api)
    body = await files(api, seed=3, sample=3)
    response = await api.get(FILES, role="auditor", params={**PERIOD, "seed": 3, "sample": 3}, headers={"Accept": ZIP})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ZIP
    expected = f"audit-files-{PERIOD['period_start']}-{PERIOD['period_end']}-seed-3.zip"
    assert expected in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        names = pack.namelist()
        pdfs = [n for n in names if n.endswith(".pdf")]
        assert set(names) == {"index.html", "index.csv", *pdfs} and len(pdfs) == 3
        for name in pdfs:
            assert pack.read(name).startswith(b"%PDF-")
        index = pack.read("index.html").decode()
        rows = list(csv.DictReader(io.StringIO(pack.read("index.csv").decode())))
    assert all(name in index for name in pdfs)
    assert {r["pdf"] for r in rows} == set(pdfs)
    assert {r["decision_id"] for r in rows} == {f["decision_id"] for f in body["sample"]}
    assert len(rows) == sum(len(f["elements"]) for f in body["sample"])
    for item in body["sample"]:
        assert any(item["decision_id"] in r["decision_id"] and r["npi"] == item["npi"] for r in rows)
    assert [e["after"]["format"] for e in await pulls()] == ["json", "zip"]


def pdf_metadata(pdf: bytes) -> str:
    """The PDF's document information (title, subject), from its compressed object streams.

    A stream's data may itself end in a carriage return (compressed bytes are arbitrary): only the line
    feed before ``endstream`` is the delimiter, and the decompressor stops at the end of its own data."""
    text = b""
    for stream in re.finditer(rb"stream\r?\n(.*?)\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            text += zlib.decompressobj().decompress(stream.group(1))
    return text.decode("latin-1")


async def test_each_pdf_names_its_file_and_its_findings(api: Api) -> None:
    people = await roster(api)
    response = await api.get(FILES, params={**PERIOD, "seed": 1}, headers={"Accept": ZIP})
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        metadata = {name: pdf_metadata(pack.read(name)) for name in pack.namelist() if name.endswith(".pdf")}
    flawed, decision = people["flawed"]
    [text] = [t for n, t in metadata.items() if flawed["npi"] in n]
    assert f"decision {decision['id']}" in text and f"NPI {flawed['npi']}" in text
    assert "license outside its window" in text
    assert "board_certification from an unlisted source" in text and "work_history not verified" in text
    clean, clean_decision = people["initial1"]
    [text] = [t for n, t in metadata.items() if clean["npi"] in n]
    assert f"decision {clean_decision['id']}" in text and "Every element present, timely and acceptable." in text


async def test_the_xlsx_has_one_row_per_file_and_element(api: Api) -> None:
    await roster(api)
    body = await files(api, seed=9)
    response = await api.get(FILES, role="auditor", params={**PERIOD, "seed": 9}, headers={"Accept": XLSX})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    assert "seed-9.xlsx" in response.headers["content-disposition"]
    sheet = pl.read_excel(io.BytesIO(response.content), sheet_name="files")
    expected = [(f["decision_id"], e["element"], e["timely"]) for f in body["sample"] for e in f["elements"]]
    assert list(zip(sheet["decision_id"], sheet["element"], sheet["timely"], strict=True)) == expected
    assert (await pulls())[-1]["after"]["format"] == "xlsx"


async def test_an_empty_period_is_an_empty_sample_and_a_pack_with_only_the_index(api: Api) -> None:
    body = await files(api, seed=1)
    assert body["population"] == 0 and body["sample"] == [] and body["seed"] == 1
    response = await api.get(FILES, params={**PERIOD, "seed": 1}, headers={"Accept": ZIP})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        assert sorted(pack.namelist()) == ["index.csv", "index.html"]
        assert pack.read("index.csv").decode().splitlines()[0].startswith("number,pdf,physician_id")
    xlsx = await api.get(FILES, params={**PERIOD, "seed": 1}, headers={"Accept": XLSX})
    assert pl.read_excel(io.BytesIO(xlsx.content)).height == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_end": ago(61).isoformat()}, "period_end"),  # before period_start
        ({"period_start": None}, "period_start"),
        ({"period_end": None}, "period_end"),
        ({"period_start": "2026-02-30"}, "period_start"),
        ({"period_end": "yesterday"}, "period_end"),
        ({"period_start": add_months(ago(0), -37).isoformat()}, "period_end"),  # over 36 months
        ({"sample": "0"}, "sample"),
        ({"sample": "501"}, "sample"),
        ({"sample": "ten"}, "sample"),
        ({"seed": "-1"}, "seed"),
        ({"seed": str(2**53)}, "seed"),
        ({"seed": "abc"}, "seed"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_nothing_is_audited(
    api: Api, params: dict[str, Any], field: str
) -> None:
    query = {k: v for k, v in {**PERIOD, **params}.items() if v is not None}
    for accept in ("application/json", ZIP):
        problem(await api.get(FILES, params=query, headers={"Accept": accept}), 422, field)
    assert await pulls() == []


@pytest.mark.parametrize("role", ["router", "credentialing"])
async def test_routers_and_credentialing_staff_may_not_pull(api: Api, role: str) -> None:
    problem(await api.get(FILES, role=role, params=PERIOD), 403)
    problem(await api.get(FILES, role=role, params=PERIOD, headers={"Accept": ZIP}), 403)
    assert await pulls() == []
