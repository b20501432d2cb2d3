"""Every FHIR-export query lives here; each reads a whole page of physicians at once (no N+1)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from roster.nppes.tables import NpiVerification
from roster.physicians.tables import Physician
from roster.reference.tables import StateRule
from roster.screening.tables import ScreeningHit


def _narrowed(query: Any, ids: list[UUID] | None, npis: list[str] | None) -> Any:
    """``_id`` and ``identifier`` narrow the search (callers never pass an empty list)."""
    if ids is not None:
        query = query.where(Physician.id.is_in(ids))
    if npis is not None:
        query = query.where(Physician.npi.is_in(npis))
    return query


async def physicians_page(
    *, ids: list[UUID] | None, npis: list[str] | None, after: UUID | None, limit: int
) -> list[dict[str, Any]]:
    """Ordered by id and keyset-paginated on it."""
    query = _narrowed(Physician.select(), ids, npis)
    if after is not None:
        query = query.where(Physician.id > after)
    return await query.order_by(Physician.id).limit(limit).run()


async def physician(physician_id: UUID) -> dict[str, Any] | None:
    return await Physician.select().where(Physician.id == physician_id).first().run()


async def hits_of(physician_ids: list[UUID]) -> list[dict[str, Any]]:
    """Oldest first: a screening result lists its hits' evidence in the order they were raised."""
    return (
        await ScreeningHit.select(
            ScreeningHit.id,
            ScreeningHit.physician.as_alias("physician_id"),
            ScreeningHit.source,
            ScreeningHit.status,
            ScreeningHit.match_kind,
            ScreeningHit.score,
            ScreeningHit.evidence,
            ScreeningHit.decided_at,
            ScreeningHit.created_at,
        )
        .where(ScreeningHit.physician.is_in(physician_ids))
        .order_by(ScreeningHit.created_at, ScreeningHit.id)
        .output(load_json=True)
        .run()
    )


async def clear_npi_checks(physician_ids: list[UUID]) -> list[dict[str, Any]]:
    """NPPES checks that gave an answer (an ``error`` check has no ``npi_status``), newest first."""
    return (
        await NpiVerification.select(
            NpiVerification.physician.as_alias("physician_id"),
            NpiVerification.npi,
            NpiVerification.npi_status,
            NpiVerification.method,
            NpiVerification.checked_at,
        )
        .where(NpiVerification.physician.is_in(physician_ids) & NpiVerification.npi_status.is_not_null())
        .order_by(NpiVerification.checked_at, ascending=False)
        .run()
    )


async def state_names() -> dict[str, str]:
    return {row["state"]: row["name"] for row in await StateRule.select(StateRule.state, StateRule.name).run()}


async def count_physicians(ids: list[UUID] | None, npis: list[str] | None) -> int:
    return await _narrowed(Physician.count(), ids, npis).run()
