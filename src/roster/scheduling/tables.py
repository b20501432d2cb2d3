from piccolo.columns import JSON, UUID, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobRun(Table, tablename="job_run"):
    """One execution of a scheduled job: what ran, when, and how it ended."""

    id = UUID(primary_key=True)
    job = Varchar(length=64, index=True)
    trigger = Varchar(length=16, default="schedule")
    started_at = Timestamptz(index=True)
    finished_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=16, default="running")
    counts = JSON(default="{}")
    error = Text(null=True, default=None)
    #: The running process's last sign of life (a heartbeat while the body runs): a run whose process
    #: died stops blocking its job once this is old, whichever process started it.
    alive_at = Timestamptz(null=True, default=None)
