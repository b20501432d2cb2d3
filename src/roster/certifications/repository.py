from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from roster.certifications.tables import Certification
from roster.db.engine import read_by_key, select_template

_COLUMNS = (
    Certification.id,
    Certification.physician.as_alias("physician_id"),
    Certification.board,
    Certification.specialty,
    Certification.status,
    Certification.certified_on,
    Certification.expires_on,
    Certification.time_unlimited,
    Certification.moc_status,
    Certification.verified_on,
    Certification.verification_source,
    Certification.created_at,
    Certification.updated_at,
)


_BY_ID = select_template(Certification, '"id" = {}', _COLUMNS)


async def get(certification_id: UUID) -> dict[str, Any] | None:
    rows = await read_by_key(_BY_ID, certification_id)
    return rows[0] if rows else None


async def for_physician(physician_id: UUID) -> list[dict[str, Any]]:
    return await Certification.select(*_COLUMNS).where(Certification.physician == physician_id).run()


async def for_physicians(physician_ids: list[UUID]) -> list[dict[str, Any]]:
    """Every certification of several physicians in one query (exports, FHIR bundles)."""
    return await Certification.select(*_COLUMNS).where(Certification.physician.is_in(physician_ids)).run()


async def duplicate_exists(physician_id: UUID, board: str, specialty: str, *, except_id: UUID | None = None) -> bool:
    query = Certification.exists().where(
        (Certification.physician == physician_id)
        & (Certification.board == board)
        & (Certification.specialty == specialty)
    )
    if except_id is not None:
        query = query.where(Certification.id != except_id)
    return await query.run()


async def insert(values: dict[str, Any]) -> None:
    values = dict(values)
    values["physician"] = values.pop("physician_id")
    await Certification.insert(Certification(**values)).run()


async def update(certification_id: UUID, values: dict[str, Any]) -> None:
    await Certification.update(values).where(Certification.id == certification_id).run()


async def delete(certification_id: UUID) -> None:
    await Certification.delete().where(Certification.id == certification_id).run()


async def page(
    *,
    physician_id: UUID | None,
    specialty: str | None,
    expiring_between: tuple[date, date] | None,
    after: UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = Certification.select(*_COLUMNS)
    if physician_id is not None:
        query = query.where(Certification.physician == physician_id)
    if specialty is not None:
        query = query.where(Certification.specialty == specialty)
    if expiring_between is not None:
        start, end = expiring_between
        query = query.where((Certification.expires_on >= start) & (Certification.expires_on <= end))
    if after is not None:
        query = query.where(Certification.id > after)
    return await query.order_by(Certification.id).limit(limit).run()
