"""ABMS/AOA board certifications: validated against the specialty table, audited and versioned."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.certifications import repository
from roster.certifications.schemas import CertificationCreate, CertificationRead, CertificationUpdate
from roster.credentialing import service as credentialing
from roster.db import write_tx
from roster.db.page_cache import cached_page
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.history import service as history
from roster.physicians import service as physicians
from roster.reference import service as reference


def to_read(row: dict[str, Any]) -> CertificationRead:
    return msgspec.convert(row, CertificationRead)


def check_certification(
    values: dict[str, Any], today: date, index: reference.SpecialtyIndex
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API's certification rules as a pure function: the values with the specialty resolved to
    its slug, and every rule broken, in the order the API checks them."""
    errors: list[FieldError] = []
    try:
        specialty = index.resolve_physician_specialty(values["specialty"], "specialty")
    except InvalidInput as exc:
        errors.extend(exc.errors)
        specialty = None
    if specialty is not None and values["board"] not in specialty.boards:
        errors.append(
            FieldError(
                "board", f"{values['board']} does not certify {specialty.slug}; boards: {', '.join(specialty.boards)}"
            )
        )
    if values["certified_on"] > today:
        errors.append(FieldError("certified_on", "is in the future"))
    if values["time_unlimited"]:
        if values["expires_on"] is not None:
            errors.append(FieldError("expires_on", "must be empty for a time-unlimited certificate"))
        if values["moc_status"] != "not_required":
            errors.append(FieldError("moc_status", "must be not_required for a time-unlimited certificate"))
    elif values["moc_status"] == "not_required":
        errors.append(FieldError("moc_status", "not_required applies only to time-unlimited certificates"))
    if values["expires_on"] is not None and values["expires_on"] <= values["certified_on"]:
        errors.append(FieldError("expires_on", "must be after certified_on"))
    verified = values.get("verified_on")
    if verified is not None and verified > today:
        errors.append(FieldError("verified_on", "is in the future"))
    return {**values, "specialty": specialty.slug if specialty else values["specialty"]}, errors


async def _validated(values: dict[str, Any], today: date) -> dict[str, Any]:
    normalized, errors = check_certification(values, today, await reference.specialty_index())
    if errors:
        raise InvalidInput.on(errors[0].field, errors[0].message)
    return normalized


async def _record_verification(cert: CertificationRead, *, actor: str) -> None:
    """A certification with ``verified_on`` was checked with its board: that check is a verification in the file."""
    if cert.verified_on is None:
        return
    await credentialing.record_performed(
        [cert.physician_id],
        element="board_certification",
        source=cert.verification_source or cert.board,
        method="primary_source",
        verified_on=cert.verified_on,
        verified_by=actor,
    )


def _duplicate(board: str, specialty: str) -> Conflict:
    return Conflict(
        f"this physician already has a {board} certification in {specialty}",
        errors=[FieldError("specialty", "already on file for this physician and board")],
    )


async def create(physician_id: UUID, data: CertificationCreate, *, actor: str) -> CertificationRead:
    now = clock.now()
    async with write_tx():
        await physicians.require(physician_id)
        values = await _validated(msgspec.structs.asdict(data), now.date())
        if await repository.duplicate_exists(physician_id, values["board"], values["specialty"]):
            raise _duplicate(values["board"], values["specialty"])
        row = {**values, "id": uuid.uuid4(), "physician_id": physician_id, "created_at": now, "updated_at": now}
        await repository.insert(row)
        created = to_read(row)
        await history.record_owned_change("certification", "create", None, created, actor=actor, at=now)
        await _record_verification(created, actor=actor)
    return created


async def get(certification_id: UUID) -> CertificationRead:
    row = await repository.get(certification_id)
    if row is None:
        raise NotFound(f"no certification {certification_id}")
    return to_read(row)


async def update(certification_id: UUID, data: CertificationUpdate, *, actor: str) -> CertificationRead:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    now = clock.now()
    async with write_tx():
        current = await get(certification_id)
        merged = await _validated({**msgspec.structs.asdict(current), **changes}, now.date())
        changes = {k: merged[k] for k in changes}
        if (merged["board"], merged["specialty"]) != (current.board, current.specialty) and (
            await repository.duplicate_exists(
                current.physician_id, merged["board"], merged["specialty"], except_id=certification_id
            )
        ):
            raise _duplicate(merged["board"], merged["specialty"])
        changes["updated_at"] = now
        await repository.update(certification_id, changes)
        updated = msgspec.structs.replace(current, **changes)
        await history.record_owned_change("certification", "update", current, updated, actor=actor, at=now)
        if {"verified_on", "verification_source"} & changes.keys():
            await _record_verification(updated, actor=actor)
    return updated


async def delete(certification_id: UUID, *, actor: str) -> None:
    now = clock.now()
    async with write_tx():
        current = await get(certification_id)
        await repository.delete(certification_id)
        await history.record_owned_change("certification", "delete", current, None, actor=actor, at=now)


async def list_page(
    *,
    physician_id: UUID | None,
    specialty: str | None,
    expiring_within_days: int | None,
    cursor: str | None,
    limit: int,
) -> Page[CertificationRead]:
    """Kept while the records stand (see ``physicians.service.list_page``), under the request's own inputs
    and the date (``expiring_within_days`` counts from today)."""
    today = clock.today()

    async def read() -> Page[CertificationRead]:
        slug = await reference.specialty_slug(specialty) if specialty is not None else None
        window = (today, today + timedelta(days=expiring_within_days)) if expiring_within_days is not None else None
        key = cursor_key(cursor, UUID)
        after = key[0] if key else None
        rows = await repository.page(
            physician_id=physician_id, specialty=slug, expiring_between=window, after=after, limit=limit + 1
        )
        return page_of([to_read(r) for r in rows], limit, lambda cert: (str(cert.id),))

    return await cached_page(
        ("certifications", today, physician_id, specialty, expiring_within_days, cursor, limit), read
    )
