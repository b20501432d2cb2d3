from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
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


class AlertDelivery(Table, tablename="alert_delivery"):
    """One attempt to deliver an alert to a webhook endpoint or a digest to a mailbox.

    ``event_id`` is stable across retries of the same (alert, target), so receivers can
    deduplicate an at-least-once stream.
    """

    id = UUID(primary_key=True)
    event_id = Varchar(length=64, index=True)
    channel = Varchar(length=16)
    target = Varchar(length=500)
    alert = ForeignKey(references=Alert, on_delete=OnDelete.cascade, null=True, index=True)
    attempt = Integer(default=1)
    delivered = Boolean(default=False)
    status_code = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    attempted_at = Timestamptz(index=True)
