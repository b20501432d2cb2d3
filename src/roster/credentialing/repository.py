from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from uuid import UUID

from roster.credentialing.tables import (
    CmeCredit,
    CredentialingDecision,
    EvidenceFile,
    IrrSession,
    PolicyAttestation,
    PolicyUpdate,
    Verification,
)
from roster.db.bulk import insert_many
from roster.db.engine import current_engine, read_by_key, select_template
from roster.licenses.tables import License
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


async def insert_verifications(rows: list[dict[str, Any]]) -> None:
    """Many verifications in one bulk write (read-shaped rows: ``physician_id``, ``evidence_id``)."""
    await insert_many(Verification, rows, keys={"physician": "physician_id", "evidence": "evidence_id"})


async def verified_that_day(element: str, source: str, verified_on: date) -> set[str]:
    """The physicians (as text) with a verification of ``element`` at ``source`` dated ``verified_on``."""
    rows = (
        await Verification.select(Verification.physician.as_alias("physician_id"))
        .where(
            (Verification.verified_on == verified_on)
            & (Verification.element == element)
            & (Verification.source == source)
        )
        .run()
    )
    return {str(row["physician_id"]) for row in rows}


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


# -- policy updates and attestations -----------------------------------------------------------------

_POLICY_UPDATE = (
    PolicyUpdate.id,
    PolicyUpdate.title,
    PolicyUpdate.effective_on,
    PolicyUpdate.attest_by,
    PolicyUpdate.created_by,
    PolicyUpdate.created_at,
)

_ATTESTATION = (
    PolicyAttestation.id,
    PolicyAttestation.policy_update.as_alias("policy_update_id"),
    PolicyAttestation.physician.as_alias("physician_id"),
    PolicyAttestation.attested_on,
    PolicyAttestation.recorded_by,
    PolicyAttestation.created_at,
)


async def insert_policy_update(values: dict[str, Any]) -> None:
    await PolicyUpdate.insert(PolicyUpdate(**values)).run()


async def policy_update(update_id: UUID) -> dict[str, Any] | None:
    return await PolicyUpdate.select(*_POLICY_UPDATE).where(PolicyUpdate.id == update_id).first().run()


async def policy_update_by_title(title: str) -> dict[str, Any] | None:
    return await PolicyUpdate.select(*_POLICY_UPDATE).where(PolicyUpdate.title == title).first().run()


async def policy_updates_page(*, after: tuple[date, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (effective_on, id)."""
    query = PolicyUpdate.select(*_POLICY_UPDATE)
    if after is not None:
        on, last = after
        query = query.where(
            (PolicyUpdate.effective_on > on) | ((PolicyUpdate.effective_on == on) & (PolicyUpdate.id > last))
        )
    return await query.order_by(PolicyUpdate.effective_on, PolicyUpdate.id).limit(limit).run()


async def policy_update_facts() -> list[dict[str, Any]]:
    """Every update's id, title and dates (what a physician's attestation status is judged on)."""
    return await PolicyUpdate.select(
        PolicyUpdate.id, PolicyUpdate.title, PolicyUpdate.effective_on, PolicyUpdate.attest_by
    ).run()


async def active_physician_count() -> int:
    return await Physician.count().where(Physician.status == "active").run()


async def attested_counts(update_ids: list[UUID]) -> dict[UUID, int]:
    """Per update, how many active physicians have attested it (updates without any are absent)."""
    if not update_ids:
        return {}
    rows = (
        await PolicyAttestation.select(PolicyAttestation.policy_update.as_alias("update_id"))
        .where(PolicyAttestation.policy_update.is_in(update_ids))
        .where(PolicyAttestation.physician.status == "active")
        .run()
    )
    counts: dict[UUID, int] = {}
    for row in rows:
        counts[row["update_id"]] = counts.get(row["update_id"], 0) + 1
    return counts


async def attestation_exists(update_id: UUID, physician_id: UUID) -> bool:
    return await (
        PolicyAttestation.exists()
        .where(PolicyAttestation.policy_update == update_id)
        .where(PolicyAttestation.physician == physician_id)
        .run()
    )


async def insert_attestation(values: dict[str, Any]) -> None:
    row = _owned(values, ("policy_update_id", "policy_update"), ("physician_id", "physician"))
    await PolicyAttestation.insert(PolicyAttestation(**row)).run()


async def attestations_page(update_id: UUID, *, after: tuple[date, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (attested_on, id)."""
    query = PolicyAttestation.select(*_ATTESTATION).where(PolicyAttestation.policy_update == update_id)
    if after is not None:
        on, last = after
        query = query.where(
            (PolicyAttestation.attested_on > on)
            | ((PolicyAttestation.attested_on == on) & (PolicyAttestation.id > last))
        )
    return await query.order_by(PolicyAttestation.attested_on, PolicyAttestation.id).limit(limit).run()


async def attested_by(physician_id: UUID) -> dict[UUID, date]:
    """The updates the physician has attested, with the day of each attestation."""
    rows = (
        await PolicyAttestation.select(
            PolicyAttestation.policy_update.as_alias("update_id"), PolicyAttestation.attested_on
        )
        .where(PolicyAttestation.physician == physician_id)
        .run()
    )
    return {row["update_id"]: row["attested_on"] for row in rows}


# -- CME ---------------------------------------------------------------------------------------------

_CME = (
    CmeCredit.id,
    CmeCredit.physician.as_alias("physician_id"),
    CmeCredit.completed_on,
    CmeCredit.activity,
    CmeCredit.hours,
    CmeCredit.category,
    CmeCredit.created_by,
    CmeCredit.created_at,
)


async def insert_cme_credit(values: dict[str, Any]) -> None:
    row = _owned(values, ("physician_id", "physician"))
    await CmeCredit.insert(CmeCredit(**row)).run()


async def cme_page(physician_id: UUID, *, after: tuple[date, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (completed_on, id)."""
    query = CmeCredit.select(*_CME).where(CmeCredit.physician == physician_id)
    if after is not None:
        on, last = after
        query = query.where((CmeCredit.completed_on > on) | ((CmeCredit.completed_on == on) & (CmeCredit.id > last)))
    return await query.order_by(CmeCredit.completed_on, CmeCredit.id).limit(limit).run()


async def cme_facts(
    physician_id: UUID, start: date, end: date, recorded_by: datetime | None = None
) -> list[dict[str, Any]]:
    """The physician's credits completed in ``[start, end]`` (and recorded by ``recorded_by``): date and hours."""
    if recorded_by is None:
        return await read_by_key(_CME_FACTS, physician_id, start, end)
    return await read_by_key(_CME_FACTS_RECORDED, physician_id, start, end, recorded_by)


_CME_FACTS = select_template(
    CmeCredit,
    '"physician" = {} AND "completed_on" >= {} AND "completed_on" <= {}',
    (CmeCredit.completed_on, CmeCredit.hours),
)
_CME_FACTS_RECORDED = _CME_FACTS + ' AND "created_at" <= {}'


async def held_license_states(physician_id: UUID, today: date, statuses: tuple[str, ...]) -> list[str]:
    """The states where the physician holds a license of one of ``statuses`` not expired on ``today``."""
    rows = (
        await License.select(License.state)
        .where(License.physician == physician_id)
        .where(License.status.is_in(list(statuses)))
        .where(License.expires_on >= today)
        .run()
    )
    return sorted({row["state"] for row in rows})


async def unattested_attest_by(at: datetime, physician_ids: Collection[UUID] | None = None) -> dict[UUID, list[date]]:
    """Per physician (of ``physician_ids``, or everyone on file), the attest-by dates of the policy updates on
    file at ``at`` that the physician had not attested by then (an attestation counts from its ``attested_on``
    day and once recorded). Physicians with none are absent."""
    updates = (
        await PolicyUpdate.select(PolicyUpdate.id, PolicyUpdate.attest_by).where(PolicyUpdate.created_at <= at).run()
    )
    if not updates:
        return {}
    people = Physician.select(Physician.id)
    if physician_ids is not None:
        if not physician_ids:
            return {}
        people = people.where(Physician.id.is_in(list(physician_ids)))
    ids = [row["id"] for row in await people.run()]
    attested_query = PolicyAttestation.select(
        PolicyAttestation.policy_update.as_alias("update_id"), PolicyAttestation.physician.as_alias("physician_id")
    ).where((PolicyAttestation.attested_on <= at.date()) & (PolicyAttestation.created_at <= at))
    if physician_ids is not None:
        attested_query = attested_query.where(PolicyAttestation.physician.is_in(list(physician_ids)))
    attested = {(str(r["update_id"]), str(r["physician_id"])) for r in await attested_query.run()}
    out: dict[UUID, list[date]] = {}
    for pid in ids:
        key = str(pid)
        missing = [u["attest_by"] for u in updates if (str(u["id"]), key) not in attested]
        if missing:
            out[pid if isinstance(pid, UUID) else UUID(key)] = missing
    return out


# -- who has attested a policy update (the workspace's roll call) ------------------------------------


async def attestation_roll(
    update_id: UUID, *, attested: bool, after: tuple[str, str, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Active physicians who have (``attested``) or have not attested the update, by name, keyset-paginated
    on (last_name, first_name, id); an attester's row carries the attestation's day and recorder. Active
    only, as the update's counts are."""
    if attested:
        query = (
            PolicyAttestation.select(
                PolicyAttestation.physician.as_alias("physician_id"),
                PolicyAttestation.physician.first_name.as_alias("first_name"),
                PolicyAttestation.physician.last_name.as_alias("last_name"),
                PolicyAttestation.physician.npi.as_alias("npi"),
                PolicyAttestation.attested_on,
                PolicyAttestation.recorded_by,
            )
            .where(PolicyAttestation.policy_update == update_id)
            .where(PolicyAttestation.physician.status == "active")
        )
        last, first, pid = (
            PolicyAttestation.physician.last_name,
            PolicyAttestation.physician.first_name,
            PolicyAttestation.physician.id,
        )
    else:
        attesters = PolicyAttestation.select(PolicyAttestation.physician).where(
            PolicyAttestation.policy_update == update_id
        )
        query = (
            Physician.select(
                Physician.id.as_alias("physician_id"), Physician.first_name, Physician.last_name, Physician.npi
            )
            .where(Physician.status == "active")
            .where(Physician.id.not_in(attesters))
        )
        last, first, pid = Physician.last_name, Physician.first_name, Physician.id
    if after is not None:
        after_last, after_first, after_id = after
        query = query.where(
            (last > after_last)
            | ((last == after_last) & (first > after_first))
            | ((last == after_last) & (first == after_first) & (pid > after_id))
        )
    return await query.order_by(last, first, pid).limit(limit).run()
