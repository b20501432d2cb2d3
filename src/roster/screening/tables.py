from piccolo.columns import JSON, UUID, Array, BigInt, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.constraints import Unique
from piccolo.table import Table

from roster.physicians.tables import Physician


class ListSnapshot(Table, tablename="list_snapshot"):
    """One loaded publisher file (LEIE, SAM, preclusion), identified by its sha256."""

    id = UUID(primary_key=True)
    source = Varchar(length=32, index=True)
    sha256 = Varchar(length=64)
    rows = Integer()
    file_name = Varchar(length=255, default="")
    origin = Text(default="")
    published_on = Date(null=True, default=None)
    loaded_at = Timestamptz(index=True)

    uq_list_snapshot_source_sha256 = Unique(["source", "sha256"])


class ScreeningRun(Table, tablename="screening_run"):
    id = UUID(primary_key=True)
    sources = Array(base_column=Varchar(length=32))
    #: ``{source: snapshot_id}`` — which list each source was screened against.
    snapshots = JSON()
    screened = Integer(default=0)
    hits = Integer(default=0)
    status = Varchar(length=16, default="running")
    error = Text(null=True, default=None)
    started_at = Timestamptz(index=True)
    finished_at = Timestamptz(null=True, default=None)
    #: The ``roster_version`` the run committed as: it changed every physician's screening, which the
    #: matcher's index then recomputes alone instead of rebuilding everything.
    roster_version = BigInt(null=True, default=None, index=True)
    #: ``{reason: count}``: the pairs this run held back (see :class:`ScreeningSuppressed`).
    suppressed = JSON()


class ScreeningHit(Table, tablename="screening_hit"):
    id = UUID(primary_key=True)
    run = ForeignKey(references=ScreeningRun, on_delete=OnDelete.restrict, null=False, index=True)
    snapshot = ForeignKey(references=ListSnapshot, on_delete=OnDelete.restrict, null=False)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    source = Varchar(length=32)
    #: Stable key of the list row (e.g. LEIE name+DOB+excl date) and a hash of its published content.
    record_key = Varchar(length=200)
    record_hash = Varchar(length=64)
    match_kind = Varchar(length=16)
    score = Real()
    matched_fields = Array(base_column=Varchar(length=32))
    record = JSON()
    status = Varchar(length=16, default="pending", index=True)
    decided_by = Varchar(length=100, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    note = Text(null=True, default=None)
    created_at = Timestamptz()
    #: The ``roster_version`` its decision committed as (NULL while pending): a decision changes one
    #: physician's eligibility, so the matcher's index reloads that physician instead of rebuilding.
    roster_version = BigInt(null=True, default=None, index=True)
    #: How each field compared (``{"npi": "absent", "dob": "equal", "last_name": "typo", ...}``): why it is a lead.
    evidence = JSON()

    uq_screening_hit_physician_record = Unique(["physician", "source", "record_key", "record_hash"])


class ScreeningSuppressed(Table, tablename="screening_suppressed"):
    """A pair the matcher held back (e.g. ``npi_conflict``: same name and DOB, another valid NPI).

    Not a hit: nothing pending, no alert, no effect on compliance. Recorded per run, so that a
    coordinator can see who was held back and why; each run records its own.
    """

    id = UUID(primary_key=True)
    run = ForeignKey(references=ScreeningRun, on_delete=OnDelete.restrict, null=False, index=True)
    snapshot = ForeignKey(references=ListSnapshot, on_delete=OnDelete.restrict, null=False)
    physician = ForeignKey(references=Physician, on_delete=OnDelete.restrict, null=False, index=True)
    source = Varchar(length=32)
    record_key = Varchar(length=200)
    record_hash = Varchar(length=64)
    #: Why it is not a hit (``npi_conflict``).
    reason = Varchar(length=32)
    #: The kind, and score, the pair would have had as a hit.
    match_kind = Varchar(length=16)
    score = Real()
    evidence = JSON()
    record = JSON()
    created_at = Timestamptz()
