from piccolo.columns import JSON, UUID, BigInt, Boolean, Integer, Timestamptz, Varchar
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
    #: The ``roster_version`` the writing transaction committed as (stamped by ``write_tx`` just before
    #: commit; 0 when the write was not a roster change), so a replica can reload only the physicians
    #: changed since the version its index was built from. NULL only inside the writing transaction.
    roster_version = BigInt(null=True, default=None, index=True)


#: Rows of ``roster_version``: the roster's counter, and the assignments' (kept apart so that
#: assignments never queue behind a roster write's lock on the first), the API keys' revocations, and
#: the records' (every committed write of physician, license or certification records).
ROSTER = 1
ASSIGNMENTS = 2
KEYS = 3
RECORDS = 4


class RosterVersion(Table, tablename="roster_version"):
    """Change counters, so each API replica can tell with one cheap query whether what it holds in
    memory is stale: ``ROSTER`` is bumped by every roster write (the index), ``ASSIGNMENTS`` by every
    assignment opened or closed (the open-case counts), ``KEYS`` by every key revoked (the cached keys),
    ``RECORDS`` by every transaction that wrote physician, license or certification records, roster
    changes or not (the cached list pages, ``roster.db.page_cache``)."""

    id = Integer(primary_key=True)
    version = BigInt(default=0)
