"""State medical licenses: validated, audited and versioned writes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.credentialing import service as credentialing
from roster.db import write_tx
from roster.db.page_cache import cached_page
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.history import service as history
from roster.licenses import repository
from roster.licenses.schemas import LicenseCreate, LicenseRead, LicenseUpdate
from roster.physicians import service as physicians
from roster.reference import service as reference


def to_read(row: dict[str, Any]) -> LicenseRead:
    return msgspec.convert(row, LicenseRead)


def normalized_number(number: str) -> str:
    """License numbers are compared and stored stripped and upper-cased."""
    return number.strip().upper()


def check_license_dates(values: dict[str, Any], today: date) -> list[FieldError]:
    """The API's date rules for a license, as a pure function: every rule broken, in check order."""
    errors: list[FieldError] = []
    if values["issued_on"] > today:
        errors.append(FieldError("issued_on", "is in the future"))
    if values["expires_on"] <= values["issued_on"]:
        errors.append(FieldError("expires_on", "must be after issued_on"))
    verified = values.get("verified_on")
    if verified is not None and verified > today:
        errors.append(FieldError("verified_on", "is in the future"))
    return errors


async def _validate(values: dict[str, Any], today: date) -> None:
    await reference.require_state(values["state"])
    errors = check_license_dates(values, today)
    if errors:
        raise InvalidInput.on(errors[0].field, errors[0].message)


async def _record_verification(lic: LicenseRead, *, actor: str) -> None:
    """A license with ``verified_on`` was checked at its board: that check is a verification in the file."""
    if lic.verified_on is None:
        return
    await credentialing.record_performed(
        [lic.physician_id],
        element="license",
        source=lic.verification_source or f"{lic.state} medical licensing board",
        method="primary_source",
        verified_on=lic.verified_on,
        verified_by=actor,
    )


def _duplicate(state: str, number: str) -> Conflict:
    return Conflict(
        f"this physician already has license {number} in {state}",
        errors=[FieldError("number", "already on file for this physician and state")],
    )


async def create(physician_id: UUID, data: LicenseCreate, *, actor: str) -> LicenseRead:
    now = clock.now()
    values = msgspec.structs.asdict(data)
    values["number"] = normalized_number(values["number"])
    async with write_tx():
        await physicians.require(physician_id)
        await _validate(values, now.date())
        if await repository.duplicate_exists(physician_id, values["state"], values["number"]):
            raise _duplicate(values["state"], values["number"])
        row = {**values, "id": uuid.uuid4(), "physician_id": physician_id, "created_at": now, "updated_at": now}
        await repository.insert(row)
        created = to_read(row)
        await history.record_owned_change("license", "create", None, created, actor=actor, at=now)
        await _record_verification(created, actor=actor)
    return created


async def get(license_id: UUID) -> LicenseRead:
    row = await repository.get(license_id)
    if row is None:
        raise NotFound(f"no license {license_id}")
    return to_read(row)


async def update(license_id: UUID, data: LicenseUpdate, *, actor: str) -> LicenseRead:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "number" in changes:
        changes["number"] = normalized_number(changes["number"])
    now = clock.now()
    async with write_tx():
        current = await get(license_id)
        merged = {**msgspec.structs.asdict(current), **changes}
        await _validate(merged, now.date())
        if (merged["state"], merged["number"]) != (current.state, current.number) and await repository.duplicate_exists(
            current.physician_id, merged["state"], merged["number"], except_id=license_id
        ):
            raise _duplicate(merged["state"], merged["number"])
        changes["updated_at"] = now
        await repository.update(license_id, changes)
        updated = msgspec.structs.replace(current, **changes)
        await history.record_owned_change("license", "update", current, updated, actor=actor, at=now)
        if {"verified_on", "verification_source"} & changes.keys():
            await _record_verification(updated, actor=actor)
    return updated


async def delete(license_id: UUID, *, actor: str) -> None:
    """Removes the license from the current roster; its history stays readable as of past dates."""
    now = clock.now()
    async with write_tx():
        current = await get(license_id)
        await repository.delete(license_id)
        await history.record_owned_change("license", "delete", current, None, actor=actor, at=now)


async def list_page(
    *,
    physician_id: UUID | None,
    state: str | None,
    status: str | None,
    expiring_within_days: int | None,
    cursor: str | None,
    limit: int,
) -> Page[LicenseRead]:
    """Kept while the records stand (see ``physicians.service.list_page``), under the request's own inputs
    and the date (``expiring_within_days`` counts from today)."""
    today = clock.today()

    async def read() -> Page[LicenseRead]:
        if state is not None:
            await reference.require_state(state)
        window = (today, today + timedelta(days=expiring_within_days)) if expiring_within_days is not None else None
        after = cursor_key(cursor, date.fromisoformat, UUID)
        rows = await repository.page(
            physician_id=physician_id, state=state, status=status, expiring_between=window, after=after, limit=limit + 1
        )
        return page_of(rows, limit, lambda lic: (lic.expires_on.isoformat(), str(lic.id)))

    return await cached_page(
        ("licenses", today, physician_id, state, status, expiring_within_days, cursor, limit), read
    )
