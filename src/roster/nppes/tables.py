from piccolo.columns import JSON, UUID, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from roster.physicians.tables import Physician


class NpiVerification(Table, tablename="npi_verification"):
    """What NPPES said of a physician's NPI on one check (API or monthly file).

    A failed check (outage, malformed answer) is recorded with ``outcome='error'`` and never
    changes the physician's ``npi_status``.
    """

    id = UUID(primary_key=True)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.cascade, null=False, index=True)
    npi = Varchar(length=10, index=True)
    method = Varchar(length=16)
    outcome = Varchar(length=16)
    #: ``active``, ``deactivated`` or null when the check could not tell.
    npi_status = Varchar(length=16, null=True, default=None)
    #: Name, taxonomies and license hints as NPPES reported them.
    details = JSON(default="{}")
    error = Text(null=True, default=None)
    checked_at = Timestamptz(index=True)
