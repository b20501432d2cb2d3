"""The audit pack's reads: the period's credentialing decisions, and the files of the sampled physicians."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from roster.credentialing.tables import CredentialingDecision, Verification
from roster.physicians.tables import Physician

#: Sampled physicians are read this many at a time (bounded ``IN`` lists).
_ID_CHUNK = 500


async def decisions_between(period_start: date, period_end: date) -> list[dict[str, Any]]:
    """Every credentialing decision dated in ``[period_start, period_end]``: the population a sample is drawn
    from (only the columns the draw needs)."""
    return (
        await CredentialingDecision.select(
            CredentialingDecision.id,
            CredentialingDecision.physician.as_alias("physician_id"),
            CredentialingDecision.kind,
            CredentialingDecision.decided_on,
            CredentialingDecision.decision,
        )
        .where(CredentialingDecision.decided_on >= period_start)
        .where(CredentialingDecision.decided_on <= period_end)
        .run()
    )


async def decisions(decision_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The sampled decisions as recorded: who decided, and the timeliness judged then."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(decision_ids), _ID_CHUNK):
        chunk = list(decision_ids[start : start + _ID_CHUNK])
        rows += (
            await CredentialingDecision.select(
                CredentialingDecision.id,
                CredentialingDecision.decided_by,
                CredentialingDecision.timely,
                CredentialingDecision.cycle_due_on,
                CredentialingDecision.cycle_met,
            )
            .where(CredentialingDecision.id.is_in(chunk))
            .run()
        )
    return rows


async def physicians(physician_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """Who each sampled file is about, as the pack identifies them."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(physician_ids), _ID_CHUNK):
        chunk = list(physician_ids[start : start + _ID_CHUNK])
        rows += (
            await Physician.select(
                Physician.id,
                Physician.npi,
                Physician.first_name,
                Physician.middle_name,
                Physician.last_name,
                Physician.suffix,
                Physician.degree,
                Physician.date_of_birth,
                Physician.specialties,
                Physician.status,
            )
            .where(Physician.id.is_in(chunk))
            .run()
        )
    return rows


async def verifications(physician_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """Every verification of the sampled physicians, with the sha256 of the evidence behind it."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(physician_ids), _ID_CHUNK):
        chunk = list(physician_ids[start : start + _ID_CHUNK])
        rows += (
            await Verification.select(
                Verification.id,
                Verification.physician.as_alias("physician_id"),
                Verification.element,
                Verification.source,
                Verification.method,
                Verification.verified_on,
                Verification.verified_by,
                Verification.outcome,
                Verification.evidence.sha256.as_alias("evidence_sha256"),
            )
            .where(Verification.physician.is_in(chunk))
            .run()
        )
    return rows
