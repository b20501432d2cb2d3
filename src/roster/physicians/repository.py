"""Every physician query lives here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from roster.certifications.tables import Certification
from roster.db.query import icontains
from roster.licenses.tables import License
from roster.physicians.tables import Physician


async def get(physician_id: UUID) -> dict[str, Any] | None:
    return await Physician.select().where(Physician.id == physician_id).first().run()


async def get_by_npi(npi: str) -> dict[str, Any] | None:
    return await Physician.select().where(Physician.npi == npi).first().run()


async def npi_taken(npi: str, *, except_id: UUID | None = None) -> bool:
    query = Physician.exists().where(Physician.npi == npi)
    if except_id is not None:
        query = query.where(Physician.id != except_id)
    return await query.run()


async def exists(physician_id: UUID) -> bool:
    return await Physician.exists().where(Physician.id == physician_id).run()


async def insert(values: dict[str, Any]) -> None:
    await Physician.insert(Physician(**values)).run()


async def update(physician_id: UUID, values: dict[str, Any]) -> None:
    await Physician.update(values).where(Physician.id == physician_id).run()


async def page(
    *,
    state: str | None,
    specialty: str | None,
    line_of_business: str | None,
    status: str | None,
    q: str | None,
    after: tuple[str, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Ordered by (last_name, id) and keyset-paginated on it."""
    query = Physician.select()
    if state is not None:
        query = query.where(Physician.id.is_in(License.select(License.physician).where(License.state == state)))
    if specialty is not None:
        query = query.where(
            Physician.specialties.any(specialty)
            | Physician.id.is_in(
                Certification.select(Certification.physician).where(Certification.specialty == specialty)
            )
        )
    if line_of_business is not None:
        query = query.where(Physician.lines_of_business.any(line_of_business))
    if status is not None:
        query = query.where(Physician.status == status)
    if q:
        term = q.strip()
        query = query.where(
            (Physician.npi == term) | icontains(Physician.last_name, term) | icontains(Physician.first_name, term)
        )
    if after is not None:
        last_name, last_id = after
        query = query.where(
            (Physician.last_name > last_name) | ((Physician.last_name == last_name) & (Physician.id > last_id))
        )
    return await query.order_by(Physician.last_name, Physician.id).limit(limit).run()
