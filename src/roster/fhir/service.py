"""Assemble FHIR Practitioners, their VerificationResults and searchset Bundles from the roster."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from roster import clock
from roster.api.pagination import cursor_key, encode_cursor
from roster.certifications import repository as certification_records
from roster.compliance.facts import CompliancePolicy
from roster.errors import InvalidInput, NotFound
from roster.fhir import repository
from roster.fhir.resources import (
    NPI_SYSTEM,
    PractitionerFile,
    Resource,
    Screened,
    practitioner,
    verification_results,
)
from roster.licenses import repository as license_records
from roster.reference import service as reference
from roster.screening import repository as screening_records
from roster.screening.facts import latest_screenings, standing


def parse_id(text: str) -> UUID | None:
    """A FHIR id that is not one of our UUIDs names no practitioner (404), it is not malformed input."""
    try:
        return UUID(text)
    except ValueError:
        return None


async def practitioner_files(physicians: list[dict[str, Any]]) -> list[PractitionerFile]:
    """Every physician's records with a fixed number of queries, whatever the page size."""
    if not physicians:
        return []
    ids = [UUID(str(p["id"])) for p in physicians]
    now = clock.now()
    licenses: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in await license_records.for_physicians(ids):
        licenses[UUID(str(row["physician_id"]))].append(row)
    certifications: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in await certification_records.for_physicians(ids):
        certifications[UUID(str(row["physician_id"]))].append(row)
    hits: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in await repository.hits_of(ids):
        hits[UUID(str(row["physician_id"]))].append(row)
    current_npi = {pid: p["npi"] for pid, p in zip(ids, physicians, strict=True)}
    npi_checks: dict[UUID, dict[str, Any]] = {}
    for row in await repository.clear_npi_checks(ids):
        pid = UUID(str(row["physician_id"]))
        # An answer about an NPI the physician no longer has says nothing about them.
        if row["npi"] == current_npi[pid]:
            npi_checks.setdefault(pid, row)
    runs = await screening_records.finished_runs_between(min(p["created_at"] for p in physicians), now)
    latest = {pid: latest_screenings(runs, p["created_at"], now) for pid, p in zip(ids, physicians, strict=True)}
    snapshot_ids = {snapshot_id for per_source in latest.values() for snapshot_id, _ in per_source.values()}
    loaded_at = await screening_records.snapshots_loaded_at(sorted(snapshot_ids))
    files = []
    for physician, pid in zip(physicians, ids, strict=True):
        screened = standing(latest[pid], loaded_at, hits[pid], now)
        standing_hits = _standing_hits(hits[pid], now)
        files.append(
            PractitionerFile(
                physician=physician,
                licenses=licenses[pid],
                certifications=certifications[pid],
                screening=tuple(
                    Screened(fact=fact, screened_at=at, hits=tuple(standing_hits.get(fact.source, ())))
                    for fact, at in screened
                ),
                npi_check=npi_checks.get(pid),
            )
        )
    return files


def _standing_hits(hits: list[dict[str, Any]], at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Per source, the hits that weigh on the physician at ``at`` (pending then, or confirmed), as
    :func:`roster.screening.facts.standing` counts them: a dismissed one cleared them."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hit in hits:
        if hit["created_at"] > at:
            continue
        if hit["decided_at"] is None or hit["decided_at"] > at:
            out[hit["source"]].append({**hit, "status": "pending"})
        elif hit["status"] == "confirmed":
            out[hit["source"]].append(hit)
    return out


class _Lookups:
    def __init__(self, state_names: dict[str, str], specialties: Any) -> None:
        self.state_names = state_names
        self.specialties = specialties

    @classmethod
    async def load(cls) -> _Lookups:
        index = await reference.specialty_index()
        return cls(await repository.state_names(), index.by_slug)


async def read_practitioner(practitioner_id: str) -> Resource:
    physician_id = parse_id(practitioner_id)
    row = await repository.physician(physician_id) if physician_id is not None else None
    if physician_id is None or row is None:
        raise NotFound(f"Practitioner/{practitioner_id} is not known")
    # A read is the Practitioner alone: its verifications come with a search (``_id``).
    file = PractitionerFile(
        physician=row,
        licenses=await license_records.for_physicians([physician_id]),
        certifications=await certification_records.for_physicians([physician_id]),
    )
    lookups = await _Lookups.load()
    return practitioner(file, lookups.state_names, lookups.specialties, clock.today())


def _page_url(base: str, params: dict[str, str]) -> str:
    return f"{base}/Practitioner" + (f"?{urlencode(params)}" if params else "")


def npis_of(tokens: list[str]) -> list[str]:
    """``identifier`` tokens (``system|value`` or ``value``) that can name an NPI; another system names nobody."""
    npis = []
    for token in tokens:
        system, bar, value = token.rpartition("|")
        if not bar or system == NPI_SYSTEM:
            npis.append(value)
    return npis


async def search_practitioners(
    *,
    base: str,
    ids: list[str] | None,
    identifiers: list[str] | None,
    count: int,
    cursor: str | None,
    policy: CompliancePolicy,
) -> Resource:
    """A ``searchset`` Bundle: the page's Practitioners (``match``) and their VerificationResults (``include``).

    ``ids`` and ``identifiers`` are each a list of alternatives (FHIR's comma = OR); both given means both apply.
    """
    try:
        after = cursor_key(cursor, UUID)
    except InvalidInput:
        raise InvalidInput.on("_cursor", "not a cursor from this server's next link") from None
    wanted = None if ids is None else [pid for pid in (parse_id(i) for i in ids) if pid is not None]
    npis = None if identifiers is None else npis_of(identifiers)
    nobody = wanted == [] or npis == []
    rows = (
        []
        if nobody
        else await repository.physicians_page(ids=wanted, npis=npis, after=after[0] if after else None, limit=count + 1)
    )
    more = len(rows) > count
    rows = rows[:count]
    today: date = clock.today()
    lookups = await _Lookups.load()
    entries: list[Resource] = []
    included: list[Resource] = []
    for file in await practitioner_files(rows):
        resource = practitioner(file, lookups.state_names, lookups.specialties, today)
        entries.append(
            {"fullUrl": f"{base}/Practitioner/{resource['id']}", "resource": resource, "search": {"mode": "match"}}
        )
        included += [
            {"fullUrl": f"urn:uuid:{result['id']}", "resource": result, "search": {"mode": "include"}}
            for result in verification_results(file, today, policy)
        ]
    params = {"_count": str(count)}
    if ids is not None:
        params["_id"] = ",".join(ids)
    if identifiers is not None:
        params["identifier"] = ",".join(identifiers)
    links = [{"relation": "self", "url": _page_url(base, {**params, **({"_cursor": cursor} if cursor else {})})}]
    if more:
        links.append(
            {"relation": "next", "url": _page_url(base, {**params, "_cursor": encode_cursor(str(rows[-1]["id"]))})}
        )
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": clock.now().isoformat(),
        "total": 0 if nobody else await repository.count_physicians(wanted, npis),
        "link": links,
    }
    if entries:
        bundle["entry"] = entries + included
    return bundle
