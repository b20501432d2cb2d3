from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from roster.availability.zones import TimeZoneName
from roster.compliance.rules import Check
from roster.credentialing.schemas import CmeStandingRead
from roster.vocabulary import (
    Degree,
    Email,
    Language,
    LineOfBusiness,
    Npi,
    NpiStatus,
    PersonName,
    PhysicianStatus,
    ShortText,
    SpecialtyRef,
)

MaxOpenCases = Annotated[int, Meta(ge=0, le=1000)]
Suffix = Annotated[str, Meta(max_length=20)]


class PhysicianCreate(msgspec.Struct, forbid_unknown_fields=True):
    npi: Npi
    first_name: PersonName
    last_name: PersonName
    date_of_birth: date
    degree: Degree
    clinical_practice_start: Annotated[date, Meta(description="Date clinical practice began after residency")]
    middle_name: ShortText | None = None
    suffix: Suffix | None = None
    former_last_names: list[PersonName] = []
    email: Email | None = None
    languages: list[Language] = msgspec.field(default_factory=lambda: ["en"])
    lines_of_business: list[LineOfBusiness] = []
    specialties: list[SpecialtyRef] = []
    credentialed_on: Annotated[date | None, Meta(description="Date of the last (re)credentialing decision")] = None
    irr_passed_on: Annotated[date | None, Meta(description="Date of the last passed inter-rater reliability test")] = (
        None
    )
    max_open_cases: MaxOpenCases = 20
    time_zone: Annotated[
        TimeZoneName | None, Meta(description="IANA zone of the working hours; default: the organization's")
    ] = None


class PhysicianUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    npi: Npi | UnsetType = UNSET
    first_name: PersonName | UnsetType = UNSET
    last_name: PersonName | UnsetType = UNSET
    date_of_birth: date | UnsetType = UNSET
    degree: Degree | UnsetType = UNSET
    clinical_practice_start: date | UnsetType = UNSET
    middle_name: ShortText | UnsetType | None = UNSET
    suffix: Suffix | UnsetType | None = UNSET
    former_last_names: list[PersonName] | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    languages: list[Language] | UnsetType = UNSET
    lines_of_business: list[LineOfBusiness] | UnsetType = UNSET
    specialties: list[SpecialtyRef] | UnsetType = UNSET
    credentialed_on: date | UnsetType | None = UNSET
    irr_passed_on: date | UnsetType | None = UNSET
    max_open_cases: MaxOpenCases | UnsetType = UNSET
    time_zone: TimeZoneName | UnsetType = UNSET
    status: PhysicianStatus | UnsetType = UNSET


class PhysicianRead(msgspec.Struct):
    id: UUID
    npi: str
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    former_last_names: list[str]
    date_of_birth: date
    degree: str
    email: str | None
    languages: list[str]
    lines_of_business: list[str]
    specialties: list[str]
    clinical_practice_start: date
    credentialed_on: date | None
    irr_passed_on: date | None
    max_open_cases: int
    time_zone: str
    status: PhysicianStatus
    npi_status: NpiStatus
    npi_checked_on: date | None
    created_at: datetime
    updated_at: datetime


class ComplianceReport(msgspec.Struct):
    physician_id: UUID
    as_of: date
    compliant: bool
    checks: list[Check]
    #: Reason codes of every failing check, in check order.
    reasons: list[str]
    #: Continuing medical education in the cycle containing ``as_of`` (issue 15). Informational: api.md has no
    #: reason code for a short cycle, so it never makes a physician non-compliant.
    cme: CmeStandingRead | None = None
