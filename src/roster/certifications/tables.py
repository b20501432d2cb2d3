from piccolo.columns import UUID, Boolean, Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class Certification(Table, tablename="certification"):
    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    board = Varchar(length=16)
    specialty = Varchar(length=64)
    #: Board status: ``certified`` or the board's word for why not (lapsed, suspended, revoked, inactive).
    status = Varchar(length=16, default="certified")
    certified_on = Date()
    expires_on = Date(null=True, default=None, index=True)
    time_unlimited = Boolean(default=False)
    moc_status = Varchar(length=16)
    verified_on = Date(null=True, default=None)
    verification_source = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()

    uq_certification_physician_board_specialty = Unique(["physician", "board", "specialty"])
