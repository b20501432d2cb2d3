"""Load the demo roster from ``fixtures/demo`` through the same services the API uses.

The fixture's dates are written relative to ``ANCHOR_DATE`` and shifted to today on load, so the
expired, expiring and overdue examples stay live whenever the demo is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import polars as pl

from roster.certifications import service as certifications
from roster.certifications.schemas import CertificationCreate
from roster.db import write_tx
from roster.licenses import service as licenses
from roster.licenses.schemas import LicenseCreate
from roster.physicians import repository as physician_rows
from roster.physicians import service as physicians
from roster.physicians.schemas import PhysicianCreate

ACTOR = "demo-loader"
LIST_COLUMNS = {"former_last_names", "languages", "lines_of_business", "specialties"}
BOOL_COLUMNS = {"restricted", "time_unlimited"}
#: Dates that move with the anchor. A date of birth does not: it is identity, matched against the
#: sample exclusion lists.
SHIFTED_SUFFIXES = ("_on", "_start")


@dataclass(frozen=True, slots=True)
class DemoLoad:
    physicians: int
    licenses: int
    certifications: int
    skipped: int


def _rows(path: Path, shift: timedelta) -> list[dict[str, Any]]:
    out = []
    for row in pl.read_csv(path, infer_schema=False).iter_rows(named=True):
        record: dict[str, Any] = {}
        for key, value in row.items():
            value = value if value not in (None, "") else None
            if key in LIST_COLUMNS:
                record[key] = [v for v in (value or "").split(";") if v]
            elif key in BOOL_COLUMNS:
                record[key] = (value or "false").lower() == "true"
            elif key == "max_open_cases":
                record[key] = int(value) if value else 20
            elif value is not None and key.endswith(SHIFTED_SUFFIXES):
                record[key] = (date.fromisoformat(value) + shift).isoformat()
            else:
                record[key] = value
        out.append({k: v for k, v in record.items() if v is not None})
    return out


def _by_npi(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.pop("npi"), []).append(row)
    return grouped


async def load_demo(demo_dir: Path, today: date) -> DemoLoad:
    """Idempotent: physicians already on the roster (by NPI) are left as they are."""
    anchor = date.fromisoformat((demo_dir / "ANCHOR_DATE").read_text().strip())
    shift = today - anchor
    people = _rows(demo_dir / "physicians.csv", shift)
    lic_by_npi = _by_npi(_rows(demo_dir / "licenses.csv", shift))
    cert_by_npi = _by_npi(_rows(demo_dir / "certifications.csv", shift))
    counts = {"physicians": 0, "licenses": 0, "certifications": 0, "skipped": 0}
    async with write_tx():  # one unit of work: the demo loads whole or not at all
        created = await _load(people, lic_by_npi, cert_by_npi, counts)
        await _schedules(created, today)
        await _education(created, today, demo_dir.parent / "cme_requirements.csv")
        await _credentialing_file(created, today, demo_dir.parent / "verification_windows.csv")
    return DemoLoad(**counts)


#: Demo reviewers' zones, in turn: the working hours below are local to each.
DEMO_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles")
DEMO_ROTATION = "Pre-certification 24x7"


async def _schedules(created: list[tuple[UUID, str]], today: date) -> None:
    """Day shifts (Mon-Fri 08:00-17:00 local) for four reviewers in five, a day off tomorrow for one in
    twenty-five, and the 24x7 pre-certification rotation (12-hour shifts, hand-off 07:00/19:00 Central,
    a 24-hour backup layer) over the first active reviewers: so ``Try a case`` at night finds it."""
    from roster.schedules import service as schedules
    from roster.schedules.schemas import LayerBody, RotationCreate, WorkingHoursCreate

    day_shift = WorkingHoursCreate(weekdays=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="17:00")
    for i, (physician_id, _) in enumerate(created):
        if i % 5 != 4:
            await schedules.add_working_hours(physician_id, day_shift, actor=ACTOR)
        if i % 25 == 3:
            start = datetime.combine(today + timedelta(days=1), time(), UTC)
            await schedules.insert_time_off_quietly(physician_id, start, start + timedelta(days=1), actor=ACTOR)
    active = [pid for pid, status in created if status == "active"]
    if len(active) < 6 or await schedules.rotation_named(DEMO_ROTATION):
        return
    started = today - timedelta(days=7)
    await schedules.create_rotation(
        RotationCreate(
            name=DEMO_ROTATION,
            time_zone="America/Chicago",
            layers=[
                LayerBody(name="primary", members=active[:4], handoff_time="07:00", shift_hours=12, starts_on=started),
                LayerBody(
                    name="backup",
                    priority=2,
                    members=active[4:6],
                    handoff_time="07:00",
                    shift_hours=24,
                    starts_on=started,
                ),
            ],
        ),
        actor=ACTOR,
    )


#: The demo's coverage-policy updates: (title, effective and attest-by days from today). The first is past
#: its attest-by date, and one active reviewer in four has not attested it (``policy_attestation_overdue``);
#: the second is due in three weeks, attested by one in three so far.
DEMO_POLICY_UPDATES = (
    ("Oncology drug coverage policy: 2nd-line immunotherapy criteria", -60, -30),
    ("Advanced imaging prior-authorization criteria: cardiac MRI", -10, 21),
)


async def _education(created: list[tuple[UUID, str]], today: date, cme_table: Path) -> None:
    """Two policy updates with attestations, and CME credits in the current cycle of the organization's
    default requirement: most reviewers on track, one in six at a rate that ends it short (``cme_short``).
    Only the physicians this run created get entries, and an update is published once (by title), so
    re-running adds nothing."""
    from roster.credentialing import repository as file_rows
    from roster.credentialing import rules
    from roster.credentialing import service as credentialing
    from roster.credentialing.schemas import AttestationCreate, CmeCreditCreate, PolicyUpdateCreate

    active = [pid for pid, status in created if status == "active"]
    for n, (title, effective, attest_by) in enumerate(DEMO_POLICY_UPDATES):
        existing = await file_rows.policy_update_by_title(title)
        if existing is not None:
            update_id, effective_on = existing["id"], existing["effective_on"]
        else:
            update = PolicyUpdateCreate(
                title=title, effective_on=today + timedelta(days=effective), attest_by=today + timedelta(days=attest_by)
            )
            published = await credentialing.add_policy_update(update, actor=ACTOR)
            update_id, effective_on = published.id, published.effective_on
        for i, physician_id in enumerate(active):
            if (n == 0 and i % 4 != 3) or (n == 1 and i % 3 == 0):
                attested_on = min(effective_on + timedelta(days=1 + i % 20), today)
                attestation = AttestationCreate(physician_id=physician_id, attested_on=attested_on)
                await credentialing.add_attestation(update_id, attestation, actor=ACTOR)
    requirement = rules.cme_requirement_for(rules.load_cme_requirements(cme_table), ())
    if requirement is None:
        return
    start, end = rules.cme_cycle(requirement, today)
    elapsed, total = (today - start).days + 1, (end - start).days
    courses = (
        ("Utilization review and medical necessity criteria workshop", "ama_pra_1"),
        ("Journal-based CME: oncology", "ama_pra_2"),
    )
    for i, (physician_id, _) in enumerate(created):
        # On track: a quarter ahead of the cycle's pace; one in six at half the pace, so short.
        pace = 0.5 if i % 6 == 5 else 1.25 + (i % 10) / 20
        each = max(0.01, round(requirement.hours * pace * elapsed / total / len(courses), 2))
        for k, (activity, category) in enumerate(courses):
            completed_on = start + timedelta(days=(elapsed - 1) * (k + 1) // len(courses))
            entry = CmeCreditCreate(completed_on=completed_on, activity=activity, hours=each, category=category)
            await credentialing.add_cme_credit(physician_id, entry, actor=ACTOR)


#: How the demo's files verify each element: (source, method).
DEMO_SOURCES = {
    "license": ("State medical board license lookup", "primary_source"),
    "board_certification": ("ABMS Certification Matters", "abms"),
    "work_history": ("Former employers' letters", "primary_source"),
    "malpractice_history": ("NPDB query", "npdb"),
    "sanctions": ("NPDB query", "npdb"),
    "education": ("AMA Physician Profile", "primary_source"),
    "attestation": ("Signed credentialing application", "primary_source"),
}
#: A late file's work history was verified this many days before the decision (outside the 120-day window).
DEMO_LATE_DAYS = 200


async def _credentialing_file(created: list[tuple[UUID, str]], today: date, windows_table: Path) -> None:
    """Each active reviewer's credentialing file: every required element verified 30 days before a decision
    on the day they were last credentialed (so ``credentialed_on`` is unchanged), initial for most; one in five
    also has an initial decision 34 months before, making that one a recredentialing within its cycle. One in
    six files is late (work history verified outside its window). IRR sessions behind ``irr_passed_on``, with
    a failed attempt before it for one in four, and a failed one only for a reviewer who never passed. Only
    physicians this run created get entries, so re-running adds nothing."""
    from roster.compliance.dates import add_months
    from roster.credentialing import rules
    from roster.credentialing import service as credentialing
    from roster.credentialing.schemas import DecisionCreate, IrrSessionCreate, VerificationCreate

    windows = rules.load_windows(windows_table)
    required = [e for e, w in windows.items() if w.required == "always"]

    async def decide(physician_id: UUID, kind: str, decided_on: date, late: bool) -> None:
        for element in required:
            verified_on = decided_on - timedelta(days=DEMO_LATE_DAYS if late and element == "work_history" else 30)
            source, method = DEMO_SOURCES[element]
            verification = VerificationCreate(
                element=element, source=source, method=method, verified_on=verified_on, outcome="verified"
            )
            await credentialing.add_verification(physician_id, verification, actor=ACTOR)
        decision = DecisionCreate(kind=kind, decided_on=decided_on, decision="approved")
        await credentialing.add_decision(physician_id, decision, actor=ACTOR, windows=windows)

    active = [pid for pid, status in created if status == "active"]
    for i, physician_id in enumerate(active):
        physician = await physicians.get(physician_id)
        credentialed = physician.credentialed_on
        if credentialed is not None:
            if i % 5 == 0:
                await decide(physician_id, "initial", add_months(credentialed, -34), late=False)
                await decide(physician_id, "recredentialing", credentialed, late=i % 6 == 1)
            else:
                await decide(physician_id, "initial", credentialed, late=i % 6 == 1)
        passed = physician.irr_passed_on
        sessions = []
        if passed is not None:
            if i % 4 == 2:
                sessions.append(IrrSessionCreate(passed - timedelta(days=20), "demo-irr-set-a", 71.5, 80))
            sessions.append(IrrSessionCreate(passed, "demo-irr-set-b", 86 + i % 10, 80))
        else:
            sessions.append(IrrSessionCreate(today - timedelta(days=14), "demo-irr-set-a", 64, 80))
        for session in sessions:
            await credentialing.add_irr_session(physician_id, session, actor=ACTOR)


async def _load(
    people: list[dict[str, Any]],
    lic_by_npi: dict[str, list[dict[str, Any]]],
    cert_by_npi: dict[str, list[dict[str, Any]]],
    counts: dict[str, int],
) -> list[tuple[UUID, str]]:
    """The physicians created, with their status."""
    made: list[tuple[UUID, str]] = []
    for person in people:
        if await physician_rows.get_by_npi(person["npi"]) is not None:
            counts["skipped"] += 1
            continue
        status = person.pop("status", "active")
        person.setdefault("time_zone", DEMO_ZONES[len(made) % len(DEMO_ZONES)])
        created = await physicians.create(msgspec.convert(person, PhysicianCreate), actor=ACTOR)
        made.append((created.id, status))
        counts["physicians"] += 1
        for lic in lic_by_npi.get(created.npi, []):
            await licenses.create(created.id, msgspec.convert(lic, LicenseCreate), actor=ACTOR)
            counts["licenses"] += 1
        for cert in cert_by_npi.get(created.npi, []):
            await certifications.create(created.id, msgspec.convert(cert, CertificationCreate), actor=ACTOR)
            counts["certifications"] += 1
        if status == "inactive":
            await physicians.deactivate(created.id, actor=ACTOR)
    return made
