from piccolo.columns import UUID, Boolean, Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class License(Table, tablename="license"):
    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    state = Varchar(length=2, index=True)
    number = Varchar(length=40)
    license_type = Varchar(length=2)
    status = Varchar(length=16)
    restricted = Boolean(default=False)
    issued_on = Date()
    expires_on = Date(index=True)
    verified_on = Date(null=True, default=None)
    verification_source = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()

    uq_license_physician_state_number = Unique(["physician", "state", "number"])
