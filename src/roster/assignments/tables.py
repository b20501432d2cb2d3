from piccolo.columns import JSON, UUID, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from roster.physicians.tables import Physician


class Assignment(Table, tablename="assignment"):
    id = UUID(primary_key=True)
    case_id = Varchar(length=100, index=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    state = Varchar(length=2)
    line_of_business = Varchar(length=32)
    specialty = Varchar(length=64)
    review_type = Varchar(length=16)
    prior_reviewer_ids = JSON(default="[]")
    status = Varchar(length=16, default="open", index=True)
    #: The license, certification and list snapshots relied on, with their dates and ids.
    evidence = JSON(default="{}")
    due_at = Timestamptz(null=True, default=None)
    #: The turnaround clock's inputs: ``standard`` or ``expedited``, and when the case was received.
    urgency = Varchar(length=16, default="standard")
    received_at = Timestamptz(null=True, default=None)
    created_by = Varchar(length=100)
    created_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
