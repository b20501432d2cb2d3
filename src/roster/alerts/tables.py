from piccolo.columns import JSON, UUID, Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class Alert(Table, tablename="alert"):
    """One alert per (kind, subject, threshold): the unique key, not a lock, prevents duplicates."""

    id = UUID(primary_key=True)
    kind = Varchar(length=32, index=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=True, index=True)
    subject_type = Varchar(length=32)
    subject_id = Varchar(length=64)
    threshold = Varchar(length=16)
    due_on = Date(null=True, default=None)
    status = Varchar(length=16, default="open", index=True)
    detail = JSON(default="{}")
    created_at = Timestamptz()
    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = Varchar(length=100, null=True, default=None)

    uq_alert_kind_subject_threshold = Unique(["kind", "subject_id", "threshold"])
