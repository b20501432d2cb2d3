from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from roster.db.engine import read_by_key, read_page, select_template
from roster.licenses.schemas import LicenseRead
from roster.licenses.tables import License

_COLUMNS = (
    License.id,
    License.physician.as_alias("physician_id"),
    License.state,
    License.number,
    License.license_type,
    License.status,
    License.restricted,
    License.issued_on,
    License.expires_on,
    License.verified_on,
    License.verification_source,
    License.created_at,
    License.updated_at,
)


_BY_ID = select_template(License, '"id" = {}', _COLUMNS)


async def get(license_id: UUID) -> dict[str, Any] | None:
    rows = await read_by_key(_BY_ID, license_id)
    return rows[0] if rows else None


async def for_physician(physician_id: UUID) -> list[dict[str, Any]]:
    return await License.select(*_COLUMNS).where(License.physician == physician_id).run()


async def for_physicians(physician_ids: list[UUID]) -> list[dict[str, Any]]:
    """Every license of several physicians in one query (exports, FHIR bundles)."""
    return await License.select(*_COLUMNS).where(License.physician.is_in(physician_ids)).run()


async def duplicate_exists(physician_id: UUID, state: str, number: str, *, except_id: UUID | None = None) -> bool:
    query = License.exists().where(
        (License.physician == physician_id) & (License.state == state) & (License.number == number)
    )
    if except_id is not None:
        query = query.where(License.id != except_id)
    return await query.run()


async def insert(values: dict[str, Any]) -> None:
    values = dict(values)
    values["physician"] = values.pop("physician_id")
    await License.insert(License(**values)).run()


async def update(license_id: UUID, values: dict[str, Any]) -> None:
    await License.update(values).where(License.id == license_id).run()


async def delete(license_id: UUID) -> None:
    await License.delete().where(License.id == license_id).run()


async def page(
    *,
    physician_id: UUID | None,
    state: str | None,
    status: str | None,
    expiring_between: tuple[date, date] | None,
    after: tuple[date, UUID] | None,
    limit: int,
) -> list[LicenseRead]:
    """Soonest expiry first, keyset-paginated on (expires_on, id)."""
    query = License.select(*_COLUMNS)
    if physician_id is not None:
        query = query.where(License.physician == physician_id)
    if state is not None:
        query = query.where(License.state == state)
    if status is not None:
        query = query.where(License.status == status)
    if expiring_between is not None:
        start, end = expiring_between
        query = query.where((License.expires_on >= start) & (License.expires_on <= end))
    if after is not None:
        last_expiry, last_id = after
        query = query.where(
            (License.expires_on > last_expiry) | ((License.expires_on == last_expiry) & (License.id > last_id))
        )
    return await read_page(
        query.order_by(License.expires_on, License.id).limit(limit), LicenseRead, ("expires_on", "id")
    )
