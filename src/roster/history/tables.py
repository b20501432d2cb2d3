from piccolo.columns import JSON, UUID, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class RecordVersion(Table, tablename="record_version"):
    """Append-only history of physicians, licenses and certifications.

    Each write closes the previous version (``recorded_to``) and opens a new one, so the roster can
    be read exactly as it stood at any past instant: ``recorded_from <= t < recorded_to``.
    """

    id = UUID(primary_key=True)
    entity = Varchar(length=32)
    entity_id = UUID(index=True)
    #: The physician the record belongs to, so a physician's whole file can be replayed at once.
    physician_id = UUID(index=True)
    recorded_from = Timestamptz(index=True)
    recorded_to = Timestamptz(null=True, default=None)
    #: A deletion is recorded as a version with ``deleted`` set, never by removing history.
    deleted = Boolean(default=False)
    data = JSON()
