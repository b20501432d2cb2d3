"""Every table, in dependency order; the Alembic metadata is derived from this list."""

from roster.alerts.tables import Alert, AlertDelivery
from roster.assignments.tables import Assignment
from roster.audit.tables import AuditEvent
from roster.certifications.tables import Certification
from roster.credentialing.tables import (
    CmeCredit,
    CredentialingDecision,
    EvidenceFile,
    IrrSession,
    PolicyAttestation,
    PolicyUpdate,
    Verification,
)
from roster.history.tables import RecordVersion, RosterVersion
from roster.keys.tables import ApiKey
from roster.licenses.tables import License
from roster.nppes.tables import NpiVerification
from roster.physicians.tables import Physician
from roster.reference.tables import Specialty, StateRule
from roster.schedules.tables import (
    Holiday,
    OnCallRotation,
    RotationLayer,
    RotationOverride,
    TimeOffPeriod,
    WorkingHoursRule,
)
from roster.scheduling.tables import JobRun
from roster.screening.tables import ListSnapshot, ScreeningHit, ScreeningRun, ScreeningSuppressed
from roster.users.tables import AppUser, WebSession

ALL_TABLES = (
    Specialty,
    StateRule,
    ApiKey,
    AppUser,
    WebSession,
    AuditEvent,
    Physician,
    License,
    Certification,
    RecordVersion,
    ListSnapshot,
    ScreeningRun,
    ScreeningHit,
    ScreeningSuppressed,
    Alert,
    Assignment,
    JobRun,
    AlertDelivery,
    NpiVerification,
    RosterVersion,
    WorkingHoursRule,
    TimeOffPeriod,
    Holiday,
    OnCallRotation,
    RotationLayer,
    RotationOverride,
    EvidenceFile,
    Verification,
    CredentialingDecision,
    IrrSession,
    PolicyUpdate,
    PolicyAttestation,
    CmeCredit,
)
