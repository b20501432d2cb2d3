"""``python -m jobs``: the same worker as ``roster worker``, configured from ``ROSTER_*`` variables."""

from jobs.worker import main
from roster.config import Settings

main(Settings.from_env())
