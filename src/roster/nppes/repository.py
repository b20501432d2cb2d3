"""Every NPPES-verification query lives here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from roster.nppes.tables import NpiVerification
from roster.physicians.tables import Physician


async def roster_npis() -> list[dict[str, Any]]:
    """Every physician's id and NPI, inactive ones included (a reactivated reviewer is never stale)."""
    return await Physician.select(Physician.id, Physician.npi).order_by(Physician.npi).run()


async def physicians(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return await Physician.select().where(Physician.id.is_in(ids)).run()


async def set_npi_status(physician_id: UUID, *, npi_status: str, checked_on: date, at: datetime) -> None:
    await (
        Physician.update(
            {Physician.npi_status: npi_status, Physician.npi_checked_on: checked_on, Physician.updated_at: at}
        )
        .where(Physician.id == physician_id)
        .run()
    )


async def insert_verifications(rows: list[dict[str, Any]]) -> None:
    if rows:
        await NpiVerification.insert(*(NpiVerification(**row) for row in rows)).run()


async def verifications_for(physician_id: UUID) -> list[dict[str, Any]]:
    """A physician's checks, newest first."""
    return (
        await NpiVerification.select()
        .where(NpiVerification.physician == physician_id)
        .order_by(NpiVerification.checked_at, ascending=False)
        .output(load_json=True)
        .run()
    )
