from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from roster.vocabulary import Degree, LicenseNumber, LicenseStatus, ShortText, StateCode


class LicenseCreate(msgspec.Struct, forbid_unknown_fields=True):
    state: StateCode
    number: LicenseNumber
    license_type: Degree
    status: LicenseStatus
    issued_on: date
    expires_on: date
    restricted: bool = False
    verified_on: date | None = None
    verification_source: ShortText | None = None


class LicenseUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    state: StateCode | UnsetType = UNSET
    number: LicenseNumber | UnsetType = UNSET
    license_type: Degree | UnsetType = UNSET
    status: LicenseStatus | UnsetType = UNSET
    issued_on: date | UnsetType = UNSET
    expires_on: date | UnsetType = UNSET
    restricted: bool | UnsetType = UNSET
    verified_on: date | UnsetType | None = UNSET
    verification_source: ShortText | UnsetType | None = UNSET


class LicenseRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    state: str
    number: str
    license_type: str
    status: LicenseStatus
    restricted: bool
    issued_on: date
    expires_on: date
    verified_on: date | None
    verification_source: str | None
    created_at: datetime
    updated_at: datetime
