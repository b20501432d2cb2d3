from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from roster.vocabulary import BoardCode, CertificationStatus, MocStatus, ShortText, SpecialtyRef


class CertificationCreate(msgspec.Struct, forbid_unknown_fields=True):
    board: BoardCode
    specialty: SpecialtyRef
    certified_on: date
    moc_status: MocStatus
    time_unlimited: bool = False
    expires_on: date | None = None
    status: CertificationStatus = "certified"
    verified_on: date | None = None
    verification_source: ShortText | None = None


class CertificationUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    board: BoardCode | UnsetType = UNSET
    specialty: SpecialtyRef | UnsetType = UNSET
    certified_on: date | UnsetType = UNSET
    moc_status: MocStatus | UnsetType = UNSET
    time_unlimited: bool | UnsetType = UNSET
    expires_on: date | UnsetType | None = UNSET
    status: CertificationStatus | UnsetType = UNSET
    verified_on: date | UnsetType | None = UNSET
    verification_source: ShortText | UnsetType | None = UNSET


class CertificationRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    board: str
    specialty: str
    status: CertificationStatus
    certified_on: date
    expires_on: date | None
    time_unlimited: bool
    moc_status: MocStatus
    verified_on: date | None
    verification_source: str | None
    created_at: datetime
    updated_at: datetime
