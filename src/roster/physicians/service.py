"""Physician records: validation, writes (audited and versioned) and reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.availability.zones import zone_problem
from roster.config import env_default_time_zone
from roster.db import write_tx
from roster.db.page_cache import cached_page
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.history import service as history
from roster.physicians import repository
from roster.physicians.npi import is_valid_npi
from roster.physicians.schemas import PhysicianCreate, PhysicianRead, PhysicianUpdate
from roster.reference import service as reference

EARLIEST_BIRTH = date(1900, 1, 1)


def to_read(row: dict[str, Any]) -> PhysicianRead:
    return msgspec.convert(row, PhysicianRead)


def snapshot(read: PhysicianRead) -> dict[str, Any]:
    return msgspec.to_builtins(read)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def check_physician(
    values: dict[str, Any], today: date, index: reference.SpecialtyIndex
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API's rules that span fields or need reference data, as a pure function.

    Returns the normalized values and every rule the values break, in the order the API checks
    them, so the API can raise the first and a bulk import can report them all.
    """
    errors: list[FieldError] = []
    if not is_valid_npi(values["npi"]):
        errors.append(FieldError("npi", "check digit is invalid (Luhn over 80840 + NPI)"))
    born = values["date_of_birth"]
    if born > today:
        errors.append(FieldError("date_of_birth", "is in the future"))
    elif born < EARLIEST_BIRTH:
        errors.append(FieldError("date_of_birth", f"is before {EARLIEST_BIRTH.isoformat()}"))
    for field in ("clinical_practice_start", "credentialed_on", "irr_passed_on"):
        value = values.get(field)
        if value is None:
            continue
        if value > today:
            errors.append(FieldError(field, "is in the future"))
        elif value <= born:
            errors.append(FieldError(field, "is not after date_of_birth"))
    zone_name = values.get("time_zone")
    if zone_name is not None and (problem := zone_problem(zone_name)) is not None:
        errors.append(FieldError("time_zone", problem))
    specialties = []
    for i, ref in enumerate(values["specialties"]):
        try:
            specialties.append(index.resolve_physician_specialty(ref, f"specialties.{i}").slug)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    normalized = {
        **values,
        "specialties": _unique(specialties),
        "languages": _unique(values["languages"]),
        "lines_of_business": _unique(values["lines_of_business"]),
        "former_last_names": _unique([n.strip() for n in values["former_last_names"]]),
        "first_name": values["first_name"].strip(),
        "last_name": values["last_name"].strip(),
    }
    return normalized, errors


async def _validated(values: dict[str, Any], today: date) -> dict[str, Any]:
    """Checks that span fields or need reference data; returns the normalized values."""
    normalized, errors = check_physician(values, today, await reference.specialty_index())
    if errors:
        raise InvalidInput.on(errors[0].field, errors[0].message)
    return normalized


async def create(data: PhysicianCreate, *, actor: str, default_time_zone: str | None = None) -> PhysicianRead:
    """``default_time_zone``: the organization's (``Settings.default_time_zone``), for a body without one;
    when not given, the environment's ``ROSTER_DEFAULT_TIME_ZONE``."""
    now = clock.now()
    values = await _validated(msgspec.structs.asdict(data), now.date())
    if values["time_zone"] is None:
        values["time_zone"] = default_time_zone or env_default_time_zone()
    physician_id = uuid.uuid4()
    row = {
        **values,
        "id": physician_id,
        "status": "active",
        "npi_status": "unknown",
        "npi_checked_on": None,
        "created_at": now,
        "updated_at": now,
    }
    async with write_tx():
        if await repository.npi_taken(values["npi"]):
            raise Conflict(f"a physician with NPI {values['npi']} already exists", errors=_npi_error())
        await repository.insert(row)
        created = to_read(row)
        await history.record_change(
            actor=actor,
            action="create",
            entity="physician",
            entity_id=physician_id,
            physician_id=physician_id,
            before=None,
            after=snapshot(created),
            at=now,
        )
    return created


def _npi_error() -> list[FieldError]:
    return [FieldError("npi", "already registered")]


async def get(physician_id: UUID) -> PhysicianRead:
    row = await repository.get(physician_id)
    if row is None:
        raise NotFound(f"no physician {physician_id}")
    return to_read(row)


async def get_by_npi(npi: str) -> PhysicianRead:
    row = await repository.get_by_npi(npi)
    if row is None:
        raise NotFound(f"no physician with NPI {npi}")
    return to_read(row)


async def update(physician_id: UUID, data: PhysicianUpdate, *, actor: str) -> PhysicianRead:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    now = clock.now()
    async with write_tx():
        current = await get(physician_id)
        merged = await _validated({**msgspec.structs.asdict(current), **changes}, now.date())
        if merged["npi"] != current.npi and await repository.npi_taken(merged["npi"], except_id=physician_id):
            raise Conflict(f"a physician with NPI {merged['npi']} already exists", errors=_npi_error())
        if "npi" in changes and merged["npi"] != current.npi:
            merged["npi_status"], merged["npi_checked_on"] = "unknown", None
        if merged["time_zone"] != current.time_zone:
            from roster.schedules.service import zone_change_problem  # schedules build on physicians

            if (problem := await zone_change_problem(physician_id, merged["time_zone"])) is not None:
                raise InvalidInput.on("time_zone", problem)
        values = {k: merged[k] for k in (*changes, "npi_status", "npi_checked_on")}
        values["updated_at"] = now
        await repository.update(physician_id, values)
        updated = msgspec.structs.replace(current, **values)
        await history.record_change(
            actor=actor,
            action="update",
            entity="physician",
            entity_id=physician_id,
            physician_id=physician_id,
            before=snapshot(current),
            after=snapshot(updated),
            at=now,
        )
    return updated


async def deactivate(physician_id: UUID, *, actor: str) -> PhysicianRead:
    """DELETE never erases: the physician becomes inactive and keeps its history."""
    now = clock.now()
    async with write_tx():
        current = await get(physician_id)
        if current.status == "inactive":
            return current
        await repository.update(physician_id, {"status": "inactive", "updated_at": now})
        updated = msgspec.structs.replace(current, status="inactive", updated_at=now)
        await history.record_change(
            actor=actor,
            action="deactivate",
            entity="physician",
            entity_id=physician_id,
            physician_id=physician_id,
            before=snapshot(current),
            after=snapshot(updated),
            at=now,
        )
    return updated


async def require(physician_id: UUID) -> None:
    if not await repository.exists(physician_id):
        raise NotFound(f"no physician {physician_id}")


#: Sort orders of the roster (``repository.SORT_COLUMNS``).
SORTS = tuple(repository.SORT_COLUMNS)
#: Up to this many ids, a membership is handed to the database (``IN``); above, it is applied to the
#: filtered rows as they are read, in chunks (such a membership keeps or drops a big share of the roster).
MAX_LISTED_IDS = 2000
_MAX_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Membership:
    """Physicians chosen elsewhere (e.g. those failing a compliance check): ``ids``, or, when
    ``excluded``, everyone but ``ids``. ``share`` is the expected fraction of the roster kept."""

    ids: frozenset[UUID]
    excluded: bool = False
    share: float = 1.0

    def keeps(self, physician_id: UUID) -> bool:
        return (physician_id in self.ids) != self.excluded


@dataclass(frozen=True, slots=True)
class RosterFilters:
    """The roster list's filters, as the API and the workspace take them (and part of a kept page's key)."""

    state: str | None = None
    #: A slug or NUCC code.
    specialty: str | None = None
    line_of_business: str | None = None
    status: str | None = None
    #: A name or NPI.
    q: str | None = None

    async def resolved(self) -> dict[str, str | None]:
        """The filters as the repository takes them (the specialty as its slug); an unknown state or
        specialty is a 422 naming the filter."""
        specialty = await reference.specialty_slug(self.specialty) if self.specialty is not None else None
        if self.state is not None:
            await reference.require_state(self.state)
        return {
            "state": self.state,
            "specialty": specialty,
            "line_of_business": self.line_of_business,
            "status": self.status,
            "q": self.q,
        }


async def list_page(
    filters: RosterFilters,
    *,
    cursor: str | None,
    limit: int,
    sort: str = "name",
    members: Membership | None = None,
) -> Page[PhysicianRead]:
    """A page of the roster. Without ``members`` (a workspace's compliance filter, computed per request)
    it is kept while the records stand (``roster.db.page_cache``), under the request's own inputs: a
    page is only kept for inputs that passed the checks, and reference data is only replaced in a
    transaction that moves the records' counter, so a kept page answers without them."""
    if members is None:
        return await cached_page(
            ("physicians", clock.today(), filters, sort, cursor, limit),
            lambda: _list_page(filters, cursor, limit, sort, None),
        )
    return await _list_page(filters, cursor, limit, sort, members)


async def _list_page(
    filters: RosterFilters, cursor: str | None, limit: int, sort: str, members: Membership | None
) -> Page[PhysicianRead]:
    query = await filters.resolved()
    if sort not in repository.SORT_COLUMNS:
        raise InvalidInput.on("sort", f"must be one of {', '.join(SORTS)}")
    after = cursor_key(cursor, str, UUID)

    def key(row: PhysicianRead) -> tuple[str, UUID]:
        return (row.last_name if sort == "name" else row.npi, row.id)

    if members is None or len(members.ids) <= MAX_LISTED_IDS:
        rows = await repository.page(
            **query,
            after=after,
            limit=limit + 1,
            sort=sort,
            only=members.ids if members is not None and not members.excluded else None,
            excluding=members.ids if members is not None and members.excluded else None,
        )
    else:
        # Filter first, then keep the members, chunk by chunk, until the page (and one more) is full.
        chunk = min(_MAX_CHUNK, max(200, int((limit + 1) / max(members.share, 1e-3) * 1.5)))
        rows = []
        while len(rows) <= limit:
            fetched = await repository.page(**query, after=after, limit=chunk, sort=sort)
            rows += [r for r in fetched if members.keeps(r.id)]
            if len(fetched) < chunk:
                break
            after = key(fetched[-1])
            chunk = min(_MAX_CHUNK, chunk * 2)
        rows = rows[: limit + 1]
    return page_of(rows, limit, lambda p: (p.last_name if sort == "name" else p.npi, str(p.id)))


async def list_ids(filters: RosterFilters, members: Membership | None = None) -> list[UUID]:
    """Every physician :func:`list_page` would list over all its pages (a filtered export), by NPI."""
    found = await repository.ids(**await filters.resolved())
    return found if members is None else [pid for pid in found if members.keeps(pid)]
