"""Every physician query lives here."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from roster.certifications.tables import Certification
from roster.db.engine import read_by_key, read_page, select_template
from roster.db.query import icontains
from roster.licenses.tables import License
from roster.physicians.schemas import PhysicianRead
from roster.physicians.tables import Physician

_BY_ID = select_template(Physician, '"id" = {}')
_BY_NPI = select_template(Physician, '"npi" = {}')


async def get(physician_id: UUID) -> dict[str, Any] | None:
    rows = await read_by_key(_BY_ID, physician_id)
    return rows[0] if rows else None


async def get_by_npi(npi: str) -> dict[str, Any] | None:
    rows = await read_by_key(_BY_NPI, npi)
    return rows[0] if rows else None


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


def _filtered(
    query: Any,
    *,
    state: str | None,
    specialty: str | None,
    line_of_business: str | None,
    status: str | None,
    q: str | None,
) -> Any:
    """The roster's filters (the API's list, the workspace's roster and its export)."""
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
    return query


#: Sort orders of a roster page: each a unique keyset (the sort column, then the id).
SORT_COLUMNS = {"name": Physician.last_name, "npi": Physician.npi}


async def page(
    *,
    state: str | None,
    specialty: str | None,
    line_of_business: str | None,
    status: str | None,
    q: str | None,
    after: tuple[str, UUID] | None,
    limit: int,
    sort: str = "name",
    only: Collection[UUID] | None = None,
    excluding: Collection[UUID] | None = None,
) -> list[PhysicianRead]:
    """Ordered by (last_name, id) (or (npi, id)) and keyset-paginated on it; ``only``/``excluding``
    narrow it to (or away from) physicians chosen elsewhere (a compliance reason)."""
    query = _filtered(
        Physician.select(), state=state, specialty=specialty, line_of_business=line_of_business, status=status, q=q
    )
    if only is not None:
        query = query.where(Physician.id.is_in(list(only))) if only else query.where(Physician.id.is_null())
    if excluding:
        query = query.where(Physician.id.not_in(list(excluding)))
    column = SORT_COLUMNS[sort]
    sort_name = column._meta.name
    if after is not None:
        last_key, last_id = after
        query = query.where((column > last_key) | ((column == last_key) & (Physician.id > last_id)))
    return await read_page(query.order_by(column, Physician.id).limit(limit), PhysicianRead, (sort_name, "id"))


async def ids(
    *,
    state: str | None,
    specialty: str | None,
    line_of_business: str | None,
    status: str | None,
    q: str | None,
) -> list[UUID]:
    """Every physician the filters keep, by NPI (a filtered export)."""
    query = _filtered(
        Physician.select(Physician.id),
        state=state,
        specialty=specialty,
        line_of_business=line_of_business,
        status=status,
        q=q,
    )
    return [UUID(str(row["id"])) for row in await query.order_by(Physician.npi).run()]
