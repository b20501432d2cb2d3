from piccolo.columns import UUID, Array, Date, Integer, Timestamptz, Varchar
from piccolo.table import Table

from roster.config import DEFAULT_TIME_ZONE


class Physician(Table, tablename="physician"):
    """A physician reviewer. Rows are current state; every change is also kept in ``record_version``."""

    id = UUID(primary_key=True)
    npi = Varchar(length=10, unique=True)
    first_name = Varchar(length=100)
    middle_name = Varchar(length=100, null=True, default=None)
    last_name = Varchar(length=100, index=True)
    suffix = Varchar(length=20, null=True, default=None)
    #: Maiden or other former surnames, for exclusion-list name matching.
    former_last_names = Array(base_column=Varchar(length=100))
    date_of_birth = Date()
    degree = Varchar(length=2)
    email = Varchar(length=254, null=True, default=None)
    languages = Array(base_column=Varchar(length=8))
    lines_of_business = Array(base_column=Varchar(length=32))
    specialties = Array(base_column=Varchar(length=64))
    clinical_practice_start = Date()
    credentialed_on = Date(null=True, default=None)
    irr_passed_on = Date(null=True, default=None)
    max_open_cases = Integer(default=20)
    #: IANA zone of the reviewer's working hours (rows from before it existed got the organization's).
    time_zone = Varchar(length=64, default=DEFAULT_TIME_ZONE)
    status = Varchar(length=16, default="active", index=True)
    #: What NPPES last said of the NPI: ``unknown`` until checked, then ``active`` or ``deactivated``.
    npi_status = Varchar(length=16, default="unknown")
    npi_checked_on = Date(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
