from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

AlertKind = Literal[
    "license_expiring",
    "license_expired",
    "certification_expiring",
    "certification_lapsed",
    "exclusion_hit",
    "preclusion_hit",
    "npi_deactivated",
    "recredentialing_due",
    "irr_due",
    "assignment_due_soon",
    "assignment_overdue",
    "assignment_at_risk",
    "oncall_gap",
    "policy_attestation_due",
    "cme_short",
]
AlertStatus = Literal["open", "acknowledged"]


class AlertRead(msgspec.Struct):
    id: UUID
    kind: AlertKind
    physician_id: UUID | None
    subject_type: str
    subject_id: str
    threshold: str
    due_on: date | None
    status: AlertStatus
    detail: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
