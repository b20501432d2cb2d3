"""Schedule records. Recurring rules keep local wall-clock times (``HH:MM``) and a zone; instants are UTC.

Physician-owned records (working hours, time off, overrides) and rotations are versioned in
``record_version`` like licenses, so a past instant replays the schedules as they stood then.
"""

from piccolo.columns import UUID, Array, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class WorkingHoursRule(Table, tablename="working_hours"):
    """Local ``start_time``..``end_time`` on ``weekdays`` in the physician's zone; ``end <= start`` runs overnight."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    #: ``mon``..``sun``, in week order.
    weekdays = Array(base_column=Varchar(length=3))
    start_time = Varchar(length=5)
    end_time = Varchar(length=5)
    effective_from = Date(null=True, default=None)
    effective_until = Date(null=True, default=None)
    created_at = Timestamptz()


class TimeOffPeriod(Table, tablename="time_off"):
    """``[starts_at, ends_at)`` in UTC."""

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    reason = Varchar(length=16)
    created_at = Timestamptz()


class Holiday(Table, tablename="holiday"):
    """An organization holiday: the local day (in the organization's zone) is not a business day."""

    id = UUID(primary_key=True)
    day = Date(unique=True)
    name = Varchar(length=100)
    created_at = Timestamptz()


class OnCallRotation(Table, tablename="rotation"):
    """A 24x7 on-call unit; ``case_*`` (all set or none) are the cases its members must be eligible for."""

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    time_zone = Varchar(length=64)
    case_state = Varchar(length=2, null=True, default=None)
    case_line_of_business = Varchar(length=32, null=True, default=None)
    case_specialty = Varchar(length=64, null=True, default=None)
    case_review_type = Varchar(length=16, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RotationLayer(Table, tablename="rotation_layer"):
    """Shift k starts at ``handoff_time`` on ``starts_on`` plus k x ``shift_hours`` of wall-clock time in the
    rotation's zone and belongs to ``members[k mod n]`` (physician ids, in order)."""

    id = UUID(primary_key=True)
    rotation = ForeignKey(references=OnCallRotation, on_delete=OnDelete.restrict, null=False, index=True)
    #: The layer's place in the rotation's list as written.
    position = Integer()
    name = Varchar(length=100)
    priority = Integer()
    members = Array(base_column=Varchar(length=36))
    handoff_time = Varchar(length=5)
    shift_hours = Integer()
    starts_on = Date()

    uq_rotation_layer_rotation_name = Unique(["rotation", "name"])


class RotationOverride(Table, tablename="rotation_override"):
    """``physician`` covers ``[starts_at, ends_at)`` of the rotation, over every layer."""

    id = UUID(primary_key=True)
    rotation = ForeignKey(references=OnCallRotation, on_delete=OnDelete.restrict, null=False, index=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    created_at = Timestamptz()
