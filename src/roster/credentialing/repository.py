from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from roster.credentialing.tables import CredentialingDecision, EvidenceFile, IrrSession, Verification
from roster.db.engine import current_engine
from roster.physicians.tables import Physician

_EVIDENCE = (EvidenceFile.id, EvidenceFile.sha256, EvidenceFile.content_type, EvidenceFile.size)

_VERIFICATION = (
    Verification.id,
    Verification.physician.as_alias("physician_id"),
    Verification.element,
    Verification.source,
    Verification.method,
    Verification.verified_on,
    Verification.verified_by,
    Verification.outcome,
    Verification.evidence.as_alias("evidence_id"),
    Verification.evidence.sha256.as_alias("evidence_sha256"),
    Verification.evidence.content_type.as_alias("evidence_content_type"),
    Verification.evidence.size.as_alias("evidence_size"),
    Verification.created_at,
)

_DECISION = (
    CredentialingDecision.id,
    CredentialingDecision.physician.as_alias("physician_id"),
    CredentialingDecision.kind,
    CredentialingDecision.decided_on,
    CredentialingDecision.decision,
    CredentialingDecision.decided_by,
    CredentialingDecision.timely,
    CredentialingDecision.late_elements,
    CredentialingDecision.cycle_due_on,
    CredentialingDecision.cycle_met,
    CredentialingDecision.created_at,
)

_IRR = (
    IrrSession.id,
    IrrSession.physician.as_alias("physician_id"),
    IrrSession.taken_on,
    IrrSession.case_set,
    IrrSession.score,
    IrrSession.pass_mark,
    IrrSession.passed,
    IrrSession.created_by,
    IrrSession.created_at,
)


def _owned(values: dict[str, Any], *renames: tuple[str, str]) -> dict[str, Any]:
    """API names (``physician_id``) to column names (``physician``)."""
    values = dict(values)
    for api_name, column in renames:
        values[column] = values.pop(api_name)
    return values


async def lock_physician(physician_id: UUID) -> None:
    """Hold the physician's row until the transaction ends (PostgreSQL ``FOR UPDATE``), so two decisions or
    sessions of one physician derive its dates one after the other. SQLite's IMMEDIATE write transaction
    already serialises writers."""
    query = Physician.select(Physician.id).where(Physician.id == physician_id)
    if current_engine().engine_type == "postgres":
        query = query.lock_rows("UPDATE")
    await query.run()


# -- evidence --------------------------------------------------------------------------------------


async def evidence(evidence_id: UUID) -> dict[str, Any] | None:
    return await EvidenceFile.select(*_EVIDENCE).where(EvidenceFile.id == evidence_id).first().run()


async def evidence_by_sha(sha256: str) -> dict[str, Any] | None:
    return await EvidenceFile.select(*_EVIDENCE).where(EvidenceFile.sha256 == sha256).first().run()


async def insert_evidence(values: dict[str, Any]) -> None:
    await EvidenceFile.insert(EvidenceFile(**values)).run()


# -- verifications ---------------------------------------------------------------------------------


async def insert_verification(values: dict[str, Any]) -> None:
    row = _owned(values, ("physician_id", "physician"), ("evidence_id", "evidence"))
    await Verification.insert(Verification(**row)).run()


async def verification(verification_id: UUID) -> dict[str, Any] | None:
    return await Verification.select(*_VERIFICATION).where(Verification.id == verification_id).first().run()


async def verification_facts(physician_id: UUID) -> list[dict[str, Any]]:
    """What a decision is judged on: every verification's element, date and outcome."""
    return (
        await Verification.select(Verification.element, Verification.verified_on, Verification.outcome)
        .where(Verification.physician == physician_id)
        .run()
    )


async def verifications_page(
    physician_id: UUID, *, after: tuple[date, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (verified_on, id)."""
    query = Verification.select(*_VERIFICATION).where(Verification.physician == physician_id)
    if after is not None:
        on, last = after
        query = query.where(
            (Verification.verified_on > on) | ((Verification.verified_on == on) & (Verification.id > last))
        )
    return await query.order_by(Verification.verified_on, Verification.id).limit(limit).run()


# -- decisions -------------------------------------------------------------------------------------


async def insert_decision(values: dict[str, Any]) -> None:
    row = _owned(values, ("physician_id", "physician"))
    await CredentialingDecision.insert(CredentialingDecision(**row)).run()


async def decision_facts(physician_id: UUID) -> list[dict[str, Any]]:
    return (
        await CredentialingDecision.select(CredentialingDecision.decided_on, CredentialingDecision.decision)
        .where(CredentialingDecision.physician == physician_id)
        .run()
    )


async def decisions_page(physician_id: UUID, *, after: tuple[date, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (decided_on, id)."""
    query = CredentialingDecision.select(*_DECISION).where(CredentialingDecision.physician == physician_id)
    if after is not None:
        on, last = after
        query = query.where(
            (CredentialingDecision.decided_on > on)
            | ((CredentialingDecision.decided_on == on) & (CredentialingDecision.id > last))
        )
    return (
        await query.order_by(CredentialingDecision.decided_on, CredentialingDecision.id)
        .limit(limit)
        .output(load_json=True)
        .run()
    )


# -- IRR sessions ----------------------------------------------------------------------------------


async def insert_irr_session(values: dict[str, Any]) -> None:
    row = _owned(values, ("physician_id", "physician"))
    await IrrSession.insert(IrrSession(**row)).run()


async def irr_facts(physician_id: UUID) -> list[dict[str, Any]]:
    return (
        await IrrSession.select(IrrSession.taken_on, IrrSession.passed)
        .where(IrrSession.physician == physician_id)
        .run()
    )


async def irr_page(physician_id: UUID, *, after: tuple[date, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (taken_on, id)."""
    query = IrrSession.select(*_IRR).where(IrrSession.physician == physician_id)
    if after is not None:
        on, last = after
        query = query.where((IrrSession.taken_on > on) | ((IrrSession.taken_on == on) & (IrrSession.id > last)))
    return await query.order_by(IrrSession.taken_on, IrrSession.id).limit(limit).run()
