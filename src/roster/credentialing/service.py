"""The credentialing file: evidence uploads, verifications, credentialing decisions and IRR sessions; policy
updates with reviewers' attestations, and CME credits with the current cycle's standing.

Every write is one transaction with its audit event. The rules (which verification is timely, when a
session passes, what ``credentialed_on`` and ``irr_passed_on`` derive from) are :mod:`roster.credentialing.rules`;
this module gathers their facts and records the outcome. The physician's derived dates are written
through the physicians service's own update (the one ``PATCH /physicians/{id}`` uses), inside the same
transaction, so the physician's history, audit and roster version move with the decision or session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from uuid import UUID

import anyio
import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import service as audit
from roster.config import Settings
from roster.credentialing import repository, rules
from roster.credentialing.schemas import (
    AttestationCreate,
    AttestationRead,
    AttestationStatus,
    AttestationStatusList,
    CmeCreditCreate,
    CmeCreditRead,
    CmeStandingRead,
    DecisionCreate,
    DecisionRead,
    EvidenceRead,
    IrrSessionCreate,
    IrrSessionRead,
    LateElementRead,
    PolicyUpdateCreate,
    PolicyUpdateRead,
    VerificationCreate,
    VerificationRead,
)
from roster.db import write_tx
from roster.db.bulk import new_id_texts
from roster.db.errors import as_conflict
from roster.db.tx import mark_records_written
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.history import service as history
from roster.physicians import service as physicians
from roster.physicians.schemas import PhysicianRead, PhysicianUpdate

# -- the windows table -----------------------------------------------------------------------------


@cache
def _windows(path: Path) -> Mapping[str, rules.Window]:
    return MappingProxyType(rules.load_windows(path))


def verification_windows(settings: Settings) -> Mapping[str, rules.Window]:
    """The windows table (``fixtures/verification_windows.csv`` under ``ROSTER_FIXTURES_DIR``), read once
    per process."""
    return _windows(settings.fixtures_dir / "verification_windows.csv")


# -- evidence files --------------------------------------------------------------------------------

#: What an evidence file may be, told by its first bytes (the client's Content-Type is not trusted).
MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_HEAD = max(len(magic) for magic, _ in MAGIC)


def sniff(head: bytes) -> str | None:
    """The content type ``head`` (a file's first bytes) announces, or None when it is neither PDF nor PNG."""
    return next((content_type for magic, content_type in MAGIC if head.startswith(magic)), None)


def evidence_dir(data_dir: Path) -> Path:
    """Where evidence files are kept, one per SHA-256; uploads are staged in the same directory so
    that the final move is an atomic rename."""
    return data_dir / "evidence"


def evidence_path(data_dir: Path, sha256: str) -> Path:
    return evidence_dir(data_dir) / sha256


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD)


def _evidence_read(row: dict[str, Any]) -> EvidenceRead:
    return msgspec.convert(row, EvidenceRead)


async def store_evidence(
    staged: Path, sha256: str, size: int, *, data_dir: Path, actor: str
) -> tuple[EvidenceRead, bool]:
    """Keep a staged upload as evidence: ``(record, created)``. The same bytes again give back the first
    record. Empty files and anything but PDF or PNG are refused (422 naming ``file``). The staged file is
    gone afterwards either way: moved into place on success, removed otherwise."""
    try:
        if size == 0:
            raise InvalidInput.on("file", "the file is empty")
        content_type = sniff(await anyio.to_thread.run_sync(_read_head, staged))
        if content_type is None:
            raise InvalidInput.on("file", "is neither a PDF nor a PNG file (judged by its first bytes)")
        target = evidence_path(data_dir, sha256)
        existing = await repository.evidence_by_sha(sha256)
        if existing is not None:
            if not await anyio.Path(target).exists():  # the data directory lost it: these bytes restore it
                await anyio.to_thread.run_sync(os.replace, staged, target)
            return _evidence_read(existing), False
        row = {
            "id": uuid.uuid4(),
            "sha256": sha256,
            "content_type": content_type,
            "size": size,
            "created_at": clock.now(),
            "created_by": actor[:100],
        }
        created = _evidence_read(row)
        try:
            async with write_tx(roster_change=False):
                await repository.insert_evidence(row)
                await audit.record(
                    actor=actor, action="upload", entity="evidence_file", entity_id=row["id"], after=_doc(created)
                )
                # Inside the transaction: a failed move rolls the record back; the record commits only
                # with its file in place.
                await anyio.to_thread.run_sync(os.replace, staged, target)
        except Exception as exc:
            if as_conflict(exc) is None:
                raise
            # The same bytes uploaded at the same moment: the other request's record stands.
            existing = await repository.evidence_by_sha(sha256)
            if existing is None:
                raise
            return _evidence_read(existing), False
        return created, True
    finally:
        staged.unlink(missing_ok=True)


async def evidence_file(evidence_id: UUID, data_dir: Path) -> tuple[EvidenceRead, Path]:
    row = await repository.evidence(evidence_id)
    if row is None:
        raise NotFound(f"no evidence file {evidence_id}")
    record = _evidence_read(row)
    path = evidence_path(data_dir, record.sha256)
    if not await anyio.Path(path).exists():
        raise NotFound(f"evidence file {evidence_id} is recorded but its bytes are missing from the data directory")
    return record, path


# -- shared checks ---------------------------------------------------------------------------------


def _doc(read: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(read)


def check_fact_date(field: str, value: date, *, date_of_birth: date, today: date) -> None:
    """A verification, decision or session happened: not in the future, and not before the physician was born."""
    if value > today:
        raise InvalidInput.on(field, "is in the future")
    if value <= date_of_birth:
        raise InvalidInput.on(field, "is not after the physician's date_of_birth")


async def _derive(physician: PhysicianRead, field: str, value: date | None, *, actor: str) -> None:
    """Set a derived date on the physician through the physicians service (history, audit, roster version),
    inside the caller's transaction; nothing is written when it already holds that date."""
    if value is None or getattr(physician, field) == value:
        return
    await physicians.update(physician.id, PhysicianUpdate(**{field: value}), actor=actor)


# -- verifications ---------------------------------------------------------------------------------


def _verification_read(row: dict[str, Any]) -> VerificationRead:
    doc = {k: v for k, v in row.items() if not k.startswith("evidence_")}
    doc["evidence_id"] = row.get("evidence_id")
    doc["evidence"] = None
    if row.get("evidence_id") is not None:
        doc["evidence"] = {
            "id": row["evidence_id"],
            "sha256": row["evidence_sha256"],
            "content_type": row["evidence_content_type"],
            "size": row["evidence_size"],
        }
    return msgspec.convert(doc, VerificationRead)


async def add_verification(physician_id: UUID, data: VerificationCreate, *, actor: str) -> VerificationRead:
    now = clock.now()
    # Not a roster change: eligibility reads credentialed_on, never the verifications behind it.
    async with write_tx(roster_change=False):
        physician = await physicians.get(physician_id)
        check_fact_date("verified_on", data.verified_on, date_of_birth=physician.date_of_birth, today=now.date())
        evidence = None
        if data.evidence_id is not None:
            found = await repository.evidence(data.evidence_id)
            if found is None:
                raise InvalidInput.on("evidence_id", "no evidence file has this id (upload it to /api/v1/evidence)")
            evidence = _evidence_read(found)
        row = {
            **msgspec.structs.asdict(data),
            "id": uuid.uuid4(),
            "physician_id": physician_id,
            "source": data.source.strip(),
            "verified_by": actor[:100],
            "created_at": now,
        }
        await repository.insert_verification(row)
        created = VerificationRead(
            id=row["id"],
            physician_id=physician_id,
            element=data.element,
            source=row["source"],
            method=data.method,
            verified_on=data.verified_on,
            verified_by=row["verified_by"],
            outcome=data.outcome,
            evidence_id=data.evidence_id,
            evidence=evidence,
            created_at=now,
        )
        await audit.record(
            actor=actor, action="create", entity="verification", entity_id=row["id"], after=_doc(created)
        )
    return created


async def record_performed(
    physician_ids: Collection[UUID | str],
    *,
    element: str,
    source: str,
    method: str,
    verified_on: date,
    verified_by: str,
) -> int:
    """Record checks Roster itself made (issue 15: "recorded automatically"): one ``verified`` verification of
    ``element`` at ``source`` per physician, inside the caller's write transaction, so the verification
    commits with the write that made the check. A physician already holding one of that element, source
    and day is skipped, so a repeated check records nothing new; returns how many were recorded. No audit
    event of their own: the write that made the check is audited (a license's or certification's change, the
    screening run), and each verification names its ``verified_by`` and ``created_at``. Plain values in: the
    licensing, certification and screening domains call this, never the other way round."""
    source = source.strip()[:100]
    done = await repository.verified_that_day(element, source, verified_on)
    fresh = list(dict.fromkeys(pid for pid in physician_ids if str(pid) not in done))
    if not fresh:
        return 0
    now = clock.now()
    rows = [
        {
            "id": verification_id,
            "physician_id": physician_id,
            "element": element,
            "source": source,
            "method": method,
            "verified_on": verified_on,
            "verified_by": verified_by[:100],
            "outcome": "verified",
            "evidence_id": None,
            "created_at": now,
        }
        for physician_id, verification_id in zip(fresh, new_id_texts(len(fresh)), strict=True)
    ]
    await repository.insert_verifications(rows)
    return len(rows)


async def list_verifications(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[VerificationRead]:
    await physicians.require(physician_id)
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.verifications_page(physician_id, after=after, limit=limit + 1)
    return page_of([_verification_read(r) for r in rows], limit, lambda v: (v.verified_on.isoformat(), str(v.id)))


# -- credentialing decisions -----------------------------------------------------------------------


def _decision_read(row: dict[str, Any]) -> DecisionRead:
    return msgspec.convert(row, DecisionRead)


def judge(
    kind: str,
    decided_on: date,
    verifications: list[rules.Verification],
    decisions: list[rules.Decision],
    windows: Mapping[str, rules.Window],
) -> rules.Timeliness:
    """A decision judged on the physician's file: the verifications dated on or before it, the previous
    approval as the start of a recredentialing cycle, and the ``if_held`` elements (DEA/CDS) the
    physician has any verification of."""
    return rules.judge_decision(
        kind,
        decided_on,
        verifications,
        windows,
        previous_approval=rules.previous_approval(decisions, decided_on),
        holds=rules.held_elements(verifications, windows),
    )


async def add_decision(
    physician_id: UUID, data: DecisionCreate, *, actor: str, windows: Mapping[str, rules.Window]
) -> DecisionRead:
    now = clock.now()
    async with write_tx():
        await repository.lock_physician(physician_id)
        physician = await physicians.get(physician_id)
        check_fact_date("decided_on", data.decided_on, date_of_birth=physician.date_of_birth, today=now.date())
        verifications = [
            rules.Verification(r["element"], r["verified_on"], r["outcome"])
            for r in await repository.verification_facts(physician_id)
        ]
        decisions = [
            rules.Decision(r["decided_on"], r["decision"]) for r in await repository.decision_facts(physician_id)
        ]
        judged = judge(data.kind, data.decided_on, verifications, decisions, windows)
        late = [LateElementRead(e.element, e.verified_on, e.window_days) for e in judged.late_elements]
        created = DecisionRead(
            id=uuid.uuid4(),
            physician_id=physician_id,
            kind=data.kind,
            decided_on=data.decided_on,
            decision=data.decision,
            decided_by=actor[:100],
            timely=judged.timely,
            late_elements=late,
            cycle_due_on=judged.cycle_due_on,
            cycle_met=judged.cycle_met if data.kind == "recredentialing" else None,
            created_at=now,
        )
        await repository.insert_decision(
            {
                **msgspec.structs.asdict(created),
                "late_elements": [msgspec.to_builtins(e) for e in late],  # JSON: dates as ISO text
            }
        )
        await audit.record(
            actor=actor, action="create", entity="credentialing_decision", entity_id=created.id, after=_doc(created)
        )
        if data.decision == "approved":
            latest = rules.credentialed_on([*decisions, rules.Decision(data.decided_on, data.decision)])
            await _derive(physician, "credentialed_on", latest, actor=actor)
    return created


async def list_decisions(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[DecisionRead]:
    await physicians.require(physician_id)
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.decisions_page(physician_id, after=after, limit=limit + 1)
    return page_of([_decision_read(r) for r in rows], limit, lambda d: (d.decided_on.isoformat(), str(d.id)))


# -- IRR sessions ----------------------------------------------------------------------------------


def _irr_read(row: dict[str, Any]) -> IrrSessionRead:
    # A REAL column hands back 85.7 as 85.69999694824219 on PostgreSQL: scores are kept to two decimals.
    return msgspec.convert(
        {**row, "score": round(row["score"], 2), "pass_mark": round(row["pass_mark"], 2)}, IrrSessionRead
    )


async def add_irr_session(physician_id: UUID, data: IrrSessionCreate, *, actor: str) -> IrrSessionRead:
    now = clock.now()
    async with write_tx():
        await repository.lock_physician(physician_id)
        physician = await physicians.get(physician_id)
        check_fact_date("taken_on", data.taken_on, date_of_birth=physician.date_of_birth, today=now.date())
        score, pass_mark = round(data.score, 2), round(data.pass_mark, 2)
        created = IrrSessionRead(
            id=uuid.uuid4(),
            physician_id=physician_id,
            taken_on=data.taken_on,
            case_set=data.case_set.strip(),
            score=score,
            pass_mark=pass_mark,
            passed=rules.irr_passed(score, pass_mark),
            created_by=actor[:100],
            created_at=now,
        )
        await repository.insert_irr_session(msgspec.structs.asdict(created))
        await audit.record(
            actor=actor, action="create", entity="irr_session", entity_id=created.id, after=_doc(created)
        )
        if created.passed:
            sessions = [(r["taken_on"], r["passed"]) for r in await repository.irr_facts(physician_id)]
            await _derive(physician, "irr_passed_on", rules.irr_passed_on(sessions), actor=actor)
    return created


async def list_irr_sessions(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[IrrSessionRead]:
    await physicians.require(physician_id)
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.irr_page(physician_id, after=after, limit=limit + 1)
    return page_of([_irr_read(r) for r in rows], limit, lambda s: (s.taken_on.isoformat(), str(s.id)))


# -- policy updates and attestations ---------------------------------------------------------------


async def _policy_update_reads(rows: list[dict[str, Any]]) -> list[PolicyUpdateRead]:
    """Rows with their counts among active physicians: attested, and outstanding (the rest)."""
    active = await repository.active_physician_count()
    counts = await repository.attested_counts([r["id"] for r in rows])
    reads = []
    for row in rows:
        attested = counts.get(row["id"], 0)
        reads.append(msgspec.convert({**row, "attested": attested, "outstanding": active - attested}, PolicyUpdateRead))
    return reads


async def add_policy_update(data: PolicyUpdateCreate, *, actor: str) -> PolicyUpdateRead:
    if data.attest_by < data.effective_on:
        raise InvalidInput.on("attest_by", "is before effective_on")
    now = clock.now()
    row = {
        "id": uuid.uuid4(),
        "title": data.title.strip(),
        "effective_on": data.effective_on,
        "attest_by": data.attest_by,
        "created_by": actor[:100],
        "created_at": now,
    }
    # A roster change: a new update can make every reviewer ineligible once its attest-by date passes
    # (``policy_attestation_overdue``); the roster index is rebuilt from it.
    async with write_tx():
        await repository.insert_policy_update(row)
        [created] = await _policy_update_reads([row])
        doc = {k: v for k, v in _doc(created).items() if k not in ("attested", "outstanding")}
        await audit.record(actor=actor, action="create", entity="policy_update", entity_id=row["id"], after=doc)
    return created


async def _require_policy_update(update_id: UUID) -> dict[str, Any]:
    row = await repository.policy_update(update_id)
    if row is None:
        raise NotFound(f"no policy update {update_id}")
    return row


async def get_policy_update(update_id: UUID) -> PolicyUpdateRead:
    [read] = await _policy_update_reads([await _require_policy_update(update_id)])
    return read


async def list_policy_updates(*, cursor: str | None, limit: int) -> Page[PolicyUpdateRead]:
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.policy_updates_page(after=after, limit=limit + 1)
    return page_of(await _policy_update_reads(rows), limit, lambda u: (u.effective_on.isoformat(), str(u.id)))


def _duplicate_attestation() -> Conflict:
    return Conflict(
        "this physician has already attested this policy update",
        errors=[FieldError("physician_id", "has already attested this policy update")],
    )


async def add_attestation(update_id: UUID, data: AttestationCreate, *, actor: str) -> AttestationRead:
    now = clock.now()
    try:
        # A roster change, versioned with the physician's file: the index reloads this physician alone.
        async with write_tx():
            update = await _require_policy_update(update_id)
            if data.attested_on > now.date():
                raise InvalidInput.on("attested_on", "is in the future")
            if data.attested_on < update["effective_on"]:
                raise InvalidInput.on("attested_on", f"is before the update's effective_on ({update['effective_on']})")
            try:
                await physicians.require(data.physician_id)
            except NotFound:
                raise InvalidInput.on("physician_id", f"no physician {data.physician_id}") from None
            if await repository.attestation_exists(update_id, data.physician_id):
                raise _duplicate_attestation()
            created = AttestationRead(
                id=uuid.uuid4(),
                policy_update_id=update_id,
                physician_id=data.physician_id,
                attested_on=data.attested_on,
                recorded_by=actor[:100],
                created_at=now,
            )
            await repository.insert_attestation(msgspec.structs.asdict(created))
            await history.record_owned_change("policy_attestation", "create", None, created, actor=actor, at=now)
    except Exception as exc:
        # Two recordings of the same attestation at the same moment: the unique constraint decides.
        if as_conflict(exc) is None:
            raise
        raise _duplicate_attestation() from None
    return created


async def list_attestations(update_id: UUID, *, cursor: str | None, limit: int) -> Page[AttestationRead]:
    await _require_policy_update(update_id)
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.attestations_page(update_id, after=after, limit=limit + 1)
    reads = [msgspec.convert(r, AttestationRead) for r in rows]
    return page_of(reads, limit, lambda a: (a.attested_on.isoformat(), str(a.id)))


async def attestation_status(physician_id: UUID) -> AttestationStatusList:
    """Every policy update with the physician's attestation, ordered by attest-by date; ``overdue`` as
    :func:`rules.overdue_attestations` judges it today."""
    await physicians.require(physician_id)
    updates = await repository.policy_update_facts()
    attested = await repository.attested_by(physician_id)
    facts = [rules.PolicyUpdate(u["id"], u["effective_on"], u["attest_by"]) for u in updates]
    overdue = set(rules.overdue_attestations(facts, frozenset(attested), clock.today()))
    items = [
        AttestationStatus(
            policy_update_id=u["id"],
            title=u["title"],
            attest_by=u["attest_by"],
            attested_on=attested.get(u["id"]),
            overdue=u["id"] in overdue,
        )
        for u in sorted(updates, key=lambda u: (u["attest_by"], str(u["id"])))
    ]
    return AttestationStatusList(items=items)


# -- CME ---------------------------------------------------------------------------------------------

#: License statuses under which a physician holds a license whose state's CME rule applies.
CME_LICENSE_STATUSES = ("active", "probation")


@cache
def _cme_requirements(path: Path) -> tuple[rules.CmeRequirement, ...]:
    return tuple(rules.load_cme_requirements(path))


def cme_requirements(settings: Settings) -> tuple[rules.CmeRequirement, ...]:
    """The CME table (``fixtures/cme_requirements.csv`` under ``ROSTER_FIXTURES_DIR``), read once per process."""
    return _cme_requirements(settings.fixtures_dir / "cme_requirements.csv")


def _hours(value: float) -> float:
    # A REAL column hands back 2.3 as 2.299999952316284 on PostgreSQL: hours are kept to two decimals.
    return round(value, 2)


def _cme_read(row: dict[str, Any]) -> CmeCreditRead:
    return msgspec.convert({**row, "hours": _hours(row["hours"])}, CmeCreditRead)


async def add_cme_credit(physician_id: UUID, data: CmeCreditCreate, *, actor: str) -> CmeCreditRead:
    if _hours(data.hours) != data.hours:
        raise InvalidInput.on("hours", "has more than two decimals")
    now = clock.now()
    # Not a roster change: CME is informational (no eligibility rule reads it).
    async with write_tx(roster_change=False):
        physician = await physicians.get(physician_id)
        check_fact_date("completed_on", data.completed_on, date_of_birth=physician.date_of_birth, today=now.date())
        created = CmeCreditRead(
            id=uuid.uuid4(),
            physician_id=physician_id,
            completed_on=data.completed_on,
            activity=data.activity.strip(),
            hours=data.hours,
            category=data.category,
            created_by=actor[:100],
            created_at=now,
        )
        await repository.insert_cme_credit(msgspec.structs.asdict(created))
        mark_records_written()  # today's compliance report shows the CME standing; kept reports miss
        await audit.record(actor=actor, action="create", entity="cme_credit", entity_id=created.id, after=_doc(created))
    return created


async def list_cme_credits(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[CmeCreditRead]:
    await physicians.require(physician_id)
    after = cursor_key(cursor, date.fromisoformat, UUID)
    rows = await repository.cme_page(physician_id, after=after, limit=limit + 1)
    return page_of([_cme_read(r) for r in rows], limit, lambda c: (c.completed_on.isoformat(), str(c.id)))


def cme_license_states(licenses: Iterable[tuple[str, str, date]], as_of: date) -> list[str]:
    """Of ``(state, status, expires_on)`` licenses, the states whose CME rule applies on ``as_of``."""
    return sorted(
        {state for state, status, expires_on in licenses if status in CME_LICENSE_STATUSES and expires_on >= as_of}
    )


async def cme_standing_at(
    physician_id: UUID,
    states: Collection[str],
    requirements: tuple[rules.CmeRequirement, ...],
    as_of: date,
    recorded_by: datetime | None = None,
) -> CmeStandingRead:
    """The standing of the cycle containing ``as_of``, from the credits completed by then (and, replaying a
    past day, recorded by ``recorded_by``): the requirement is the strictest among ``states``' rows, else the
    organization's default."""
    requirement = rules.cme_requirement_for(requirements, states)
    if requirement is None:  # load_cme_requirements refuses a table without a default row
        raise NotFound("the CME requirements table has no row for this physician")
    start, _ = rules.cme_cycle(requirement, as_of)
    rows = await repository.cme_facts(physician_id, start, as_of, recorded_by)
    standing = rules.cme_standing(requirement, [(r["completed_on"], _hours(r["hours"])) for r in rows], as_of)
    return CmeStandingRead(
        cycle_start=standing.cycle_start,
        cycle_end=standing.cycle_end - timedelta(days=1),
        required_hours=standing.required_hours,
        earned_hours=round(standing.earned_hours, 2),
        projected_hours=round(standing.projected_hours, 2),
        short=standing.short,
    )


async def cme_standing(physician_id: UUID, requirements: tuple[rules.CmeRequirement, ...]) -> CmeStandingRead:
    """The current cycle's standing: the requirement is the strictest among the states the physician holds
    an active (or probationary) unexpired license in, else the organization's default."""
    await physicians.require(physician_id)
    today = clock.today()
    states = await repository.held_license_states(physician_id, today, CME_LICENSE_STATUSES)
    return await cme_standing_at(physician_id, states, requirements, today)


# -- who has attested a policy update (the workspace's roll call) ------------------------------------


class RollEntry(msgspec.Struct):
    """An active physician on a policy update's roll: an attester (with the day and recorder) or not yet."""

    physician_id: UUID
    first_name: str
    last_name: str
    npi: str
    attested_on: date | None = None
    recorded_by: str | None = None


async def attestation_roll(update_id: UUID, *, attested: bool, cursor: str | None, limit: int) -> Page[RollEntry]:
    """The names behind a policy update's ``attested`` and ``outstanding`` counts (active physicians), by name."""
    await _require_policy_update(update_id)
    after = cursor_key(cursor, str, str, UUID)
    rows = await repository.attestation_roll(update_id, attested=attested, after=after, limit=limit + 1)
    entries = [msgspec.convert(row, RollEntry) for row in rows]
    return page_of(entries, limit, lambda e: (e.last_name, e.first_name, str(e.physician_id)))


def policy_update_overdue(update: PolicyUpdateRead, as_of: date) -> bool:
    """Whether an unattested reviewer of ``update`` is overdue on ``as_of`` (rules.overdue_attestations)."""
    fact = rules.PolicyUpdate(update.id, update.effective_on, update.attest_by)
    return bool(rules.overdue_attestations([fact], frozenset(), as_of))
