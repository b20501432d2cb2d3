"""The credentialing file (issue 15): evidence files, verifications, credentialing decisions, IRR sessions,
policy updates with their attestations, and CME credits.

Every row is append-only: a verification, a committee's decision or an IRR session is a fact of the day
it happened. A decision keeps the timeliness judged when it was recorded (``timely``, ``late_elements``,
``cycle_due_on``, ``cycle_met``), so the file shows what the committee had in front of it.
"""

from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, Integer, Real, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class EvidenceFile(Table, tablename="evidence_file"):
    """An uploaded PDF or PNG, stored once per SHA-256 as ``<data_dir>/evidence/<sha256>``."""

    id = UUID(primary_key=True)
    sha256 = Varchar(length=64, unique=True)
    #: ``application/pdf`` or ``image/png``, from the file's magic bytes (never the client's say-so).
    content_type = Varchar(length=32)
    size = Integer()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Verification(Table, tablename="verification"):
    """One element of a physician's file checked at a source on ``verified_on``."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    element = Varchar(length=32)
    source = Varchar(length=100)
    method = Varchar(length=16)
    verified_on = Date()
    verified_by = Varchar(length=100)
    outcome = Varchar(length=16)
    evidence = ForeignKey(references=EvidenceFile, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    created_at = Timestamptz()


class CredentialingDecision(Table, tablename="credentialing_decision"):
    """A committee's initial or recredentialing decision, with the timeliness judged when it was recorded."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=16)
    decided_on = Date()
    decision = Varchar(length=16)
    decided_by = Varchar(length=100)
    timely = Boolean()
    #: ``[{"element", "verified_on" (ISO date or null), "window_days" (or null)}]``.
    late_elements = JSON(default="[]")
    #: Recredentialing only: 36 months after the previous approval (null without one, and for initial).
    cycle_due_on = Date(null=True, default=None)
    #: Recredentialing only: decided before ``cycle_due_on`` (null for initial).
    cycle_met = Boolean(null=True, default=None)
    created_at = Timestamptz()


class IrrSession(Table, tablename="irr_session"):
    """An inter-rater reliability test a reviewer took: scores in percent, ``passed`` at or above the mark."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    taken_on = Date()
    case_set = Varchar(length=100)
    score = Real()
    pass_mark = Real()
    passed = Boolean()
    created_by = Varchar(length=100)
    created_at = Timestamptz()


class PolicyUpdate(Table, tablename="policy_update"):
    """A coverage-policy update the organization published: reviewers attest having read it by ``attest_by``."""

    id = UUID(primary_key=True)
    title = Varchar(length=200)
    effective_on = Date()
    attest_by = Date()
    created_by = Varchar(length=100)
    created_at = Timestamptz()


class PolicyAttestation(Table, tablename="policy_attestation"):
    """A reviewer's attestation of having read one policy update (at most one per update and physician)."""

    id = UUID(primary_key=True)
    policy_update = ForeignKey(references=PolicyUpdate, on_delete=OnDelete.restrict, null=False)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    attested_on = Date()
    recorded_by = Varchar(length=100)
    created_at = Timestamptz()

    uq_policy_attestation_policy_update_physician = Unique(["policy_update", "physician"])


class CmeCredit(Table, tablename="cme_credit"):
    """Continuing medical education a physician completed: ``hours`` (to two decimals) of ``category``."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    completed_on = Date()
    activity = Varchar(length=200)
    hours = Real()
    category = Varchar(length=16)
    created_by = Varchar(length=100)
    created_at = Timestamptz()
