"""Settings, read once from ``ROSTER_*`` environment variables.

Tests and tools build :class:`Settings` explicitly and pass it to ``create_app`` instead of racing
environment variables; nothing here touches the database or the network.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from roster.sources.egress import Resolver

SOURCES = ("oig_leie", "sam", "cms_preclusion")
MIB = 1024 * 1024
#: The organization's zone when ``ROSTER_DEFAULT_TIME_ZONE`` is not set (api.md "Paths and shapes").
DEFAULT_TIME_ZONE = "America/New_York"
#: Minutes of available time a reviewer needs before ``due_at`` per review type (rules.md §5
#: ``cannot_meet_due``), unless ``ROSTER_MIN_REVIEW_MINUTES`` says otherwise.
DEFAULT_MIN_REVIEW_MINUTES = {"initial": 60, "appeal": 90, "peer_to_peer": 30}

#: The project checkout (``src/roster/config.py`` -> repo root). The service is installed editable,
#: so ``fixtures/`` and ``alembic/`` are found beside ``src/``.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _env_mib(name: str, default: int) -> int:
    """A size in whole MiB (``ROSTER_MAX_LIST_FILE_MB=600``), as bytes."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name}: {raw!r} is not a positive whole number of MiB")
    return int(raw) * MIB


def _env_hosts(default: tuple[str, ...]) -> tuple[str, ...]:
    """``ROSTER_LIST_URL_HOSTS`` normalized as URLs spell hosts; a malformed entry fails at start-up."""
    from roster.sources.egress import host_entry

    try:
        return tuple(host_entry(entry) for entry in _env_list("ROSTER_LIST_URL_HOSTS", default))
    except ValueError as exc:
        raise ValueError(f"ROSTER_LIST_URL_HOSTS: {exc}") from None


def _env_columns(name: str) -> dict[str, str | None]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not JSON ({exc})") from None
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise ValueError(f'{name}: expected a JSON object of field -> column header, e.g. {{"npi": "NPI Number"}}')
    return value


def _env_positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name}: {raw!r} is not a positive whole number")
    return int(raw)


def _env_percent(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        raise ValueError(f"{name}: {raw!r} is not a percent above 0 and at most 100")
    return value


def _env_time_zone(default: str) -> str:
    """``ROSTER_DEFAULT_TIME_ZONE``: an IANA zone name; an unknown one fails at start-up."""
    from roster.availability.zones import zone_problem

    name = os.environ.get("ROSTER_DEFAULT_TIME_ZONE", "").strip() or default
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(f"ROSTER_DEFAULT_TIME_ZONE: {problem}")
    return name


def env_default_time_zone() -> str:
    """The organization's zone as the environment sets it, for callers without a ``Settings`` at hand."""
    return _env_time_zone(DEFAULT_TIME_ZONE)


def _env_review_minutes(default: dict[str, int]) -> dict[str, int]:
    """``ROSTER_MIN_REVIEW_MINUTES``, e.g. ``initial=60,appeal=90,peer_to_peer=30``; unnamed types keep theirs."""
    raw = os.environ.get("ROSTER_MIN_REVIEW_MINUTES", "").strip()
    out = dict(default)
    if not raw:
        return out
    for part in raw.split(","):
        name, sep, value = (p.strip() for p in part.partition("="))
        if not sep or name not in default:
            raise ValueError(
                f"ROSTER_MIN_REVIEW_MINUTES: {part.strip()!r} is not REVIEW_TYPE=MINUTES with one of "
                + ", ".join(default)
            )
        if not value.isdigit():
            raise ValueError(f"ROSTER_MIN_REVIEW_MINUTES: {value!r} for {name} is not a whole number of minutes")
        out[name] = int(value)
    return out


def _env_public_url(default: str) -> str:
    url = os.environ.get("ROSTER_PUBLIC_URL", "").strip() or default
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"ROSTER_PUBLIC_URL: {url!r} is not an http(s) URL with a host")
    return url.rstrip("/")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _env_delivery() -> dict[str, Any]:
    """Alert delivery (``ROSTER_SMTP_*``, ``ROSTER_ALERT_FROM``, ``ROSTER_MANAGER_EMAILS``, ``ROSTER_WEBHOOK_*``),
    checked together: a half-configured channel fails at start-up, not at the first send."""
    from roster.alerts.webhooks import decode_secret

    host = os.environ.get("ROSTER_SMTP_HOST", "").strip() or None
    port = os.environ.get("ROSTER_SMTP_PORT", "").strip() or "25"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"ROSTER_SMTP_PORT: {port!r} is not a port number (1-65535)")
    sender = os.environ.get("ROSTER_ALERT_FROM", "").strip() or None
    if sender is not None and not _EMAIL.match(parseaddr(sender)[1]):
        raise ValueError(f"ROSTER_ALERT_FROM: {sender!r} is not an email address")
    managers = tuple(dict.fromkeys(_env_list("ROSTER_MANAGER_EMAILS", ())))
    if bad := [a for a in managers if not _EMAIL.match(a)]:
        raise ValueError(f"ROSTER_MANAGER_EMAILS: not an email address: {', '.join(bad)}")
    if managers and (host is None or sender is None):
        raise ValueError("ROSTER_MANAGER_EMAILS is set: the digest also needs ROSTER_SMTP_HOST and ROSTER_ALERT_FROM")
    user = os.environ.get("ROSTER_SMTP_USER", "").strip() or None
    password = os.environ.get("ROSTER_SMTP_PASSWORD") or None
    if password is not None and user is None:
        raise ValueError("ROSTER_SMTP_PASSWORD is set without ROSTER_SMTP_USER")
    urls = tuple(dict.fromkeys(_env_list("ROSTER_WEBHOOK_URLS", ())))
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ROSTER_WEBHOOK_URLS: {url!r} is not an http(s) URL with a host")
    secret = os.environ.get("ROSTER_WEBHOOK_SECRET", "").strip() or None
    if secret is not None:
        try:
            decode_secret(secret)
        except ValueError as exc:
            raise ValueError(f"ROSTER_WEBHOOK_SECRET: {exc}") from None
    if urls and secret is None:
        raise ValueError("ROSTER_WEBHOOK_URLS is set but ROSTER_WEBHOOK_SECRET is not: every delivery is signed")
    return {
        "smtp_host": host,
        "smtp_port": int(port),
        "smtp_user": user,
        "smtp_password": password,
        "smtp_starttls": _env_bool("ROSTER_SMTP_STARTTLS", False),
        "alert_from": sender,
        "manager_emails": managers,
        "webhook_urls": urls,
        "webhook_secret": secret,
    }


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///roster.db"
    #: Screening sources the compliance report requires (``ROSTER_REQUIRED_SOURCES``).
    required_sources: tuple[str, ...] = SOURCES
    #: Organization default where a state has no rule of its own: license must be in the case's state.
    default_in_state_license: bool = True
    #: Days a list snapshot stays fresh enough to count as screened (rules.md §1).
    screening_max_age_days: int = 35
    #: ``ROSTER_REQUIRE_POLICY_ATTESTATION`` (default on): an unattested update past its attest-by date makes a
    #: reviewer ineligible (``policy_attestation_overdue``).
    require_policy_attestation: bool = True
    fixtures_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "fixtures")
    alembic_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "alembic")
    #: Where loaded list files and their parsed snapshots are kept (``ROSTER_DATA_DIR``).
    data_dir: Path = field(default_factory=lambda: Path("var"))
    #: Seconds to wait for a list download before giving up (connect and between reads).
    download_timeout: float = 60.0
    #: The largest file each upload endpoint takes (``ROSTER_MAX_<KIND>_FILE_MB``); bigger ones get 413.
    #: A list file: a SAM extract ZIP is tens of MB, its CSV a few hundred, LEIE's ``UPDATED.csv`` ~15 MB.
    max_list_file_bytes: int = 512 * MIB
    #: A roster import: 50,000 physicians with their licenses and certifications are ~25 MB of CSV.
    max_roster_file_bytes: int = 128 * MIB
    #: A credentialing file's evidence (a PDF or PNG scan).
    max_evidence_file_bytes: int = 25 * MIB
    #: A JSON request body (every endpoint but the uploads).
    max_json_body_bytes: int = 1 * MIB
    #: Hosts list files may be downloaded from, by URL or redirect (``ROSTER_LIST_URL_HOSTS``,
    #: comma-separated): exact names, or ``*.example.gov`` for any name under example.gov. The hosts
    #: of the configured list URLs below are allowed too; every address is still vetted (public only).
    list_url_hosts: tuple[str, ...] = ("oig.hhs.gov", "api.sam.gov")
    #: Seconds one whole list download may take, redirects and retries included
    #: (``ROSTER_LIST_DOWNLOAD_SECONDS``): a server dripping bytes cannot hold a request longer.
    list_download_seconds: float = 600.0
    #: Name resolution for list downloads: tests inject one; None is the system resolver.
    list_url_resolver: Resolver | None = field(default=None, repr=False, compare=False)
    #: Jaro-Winkler similarity a name-only match needs (rules.md §4 "name").
    fuzzy_name_threshold: float = 0.93
    #: The plan's Preclusion List layout where it differs from the default: field -> the file's column
    #: header, or null for a column the file lacks (``ROSTER_PRECLUSION_COLUMNS``, a JSON object).
    preclusion_columns: dict[str, str | None] = field(default_factory=dict)
    #: Seconds an SQLite writer waits for the lock before failing.
    sqlite_busy_timeout: float = 30.0
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    #: Seconds an authenticated API key stays cached in a process (0: none). A revocation is seen at once
    #: by the revoking process and within a second by the others (``roster.keys.service.KeyCache``).
    api_key_cache_seconds: float = 30.0
    #: Build the matcher's index at start-up, before ``/ready`` answers 200 (``ROSTER_WARM_INDEX``).
    warm_index: bool = True
    #: Seconds between the index keeper's checks of the roster version (``ROSTER_INDEX_POLL_SECONDS``; 0:
    #: none): a change made through another replica, a screening run or an import is loaded off the
    #: request path within about this long.
    index_poll_seconds: float = 1.0
    #: List files the monthly refresh downloads (``ROSTER_LEIE_URL``, ``ROSTER_SAM_URL``,
    #: ``ROSTER_PRECLUSION_URL``); a list without a URL is not refreshed.
    leie_url: str | None = "https://oig.hhs.gov/exclusions/downloadables/UPDATED.csv"
    sam_url: str | None = None
    preclusion_url: str | None = None
    #: Job name -> cron expression overriding the job's default (``ROSTER_SCHEDULE_<JOB>``, 5 or 6 fields).
    job_schedules: dict[str, str] = field(default_factory=dict)
    #: The worker's leader lock on SQLite (``ROSTER_WORKER_LOCK_PATH``; default: beside the database file).
    worker_lock_path: Path | None = None
    #: Seconds a standby worker waits between attempts to become leader (``ROSTER_WORKER_STANDBY_SECONDS``).
    worker_standby_seconds: float = 5.0
    #: The managers' daily alert digest: SMTP server, sender and recipients (no host, no digest).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    #: Upgrade the SMTP connection with STARTTLS (certificate verified) before logging in.
    smtp_starttls: bool = False
    smtp_timeout: float = 30.0
    alert_from: str | None = None
    manager_emails: tuple[str, ...] = ()
    #: The most alerts one digest lists, most urgent first; the rest follow in the next digest.
    digest_max_alerts: int = 500
    #: Endpoints receiving every alert as a signed webhook, and the ``whsec_<base64>`` signing secret.
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_timeout: float = 10.0
    #: Attempts per alert per run (exponential backoff between them); a failed alert is retried next run.
    webhook_max_attempts: int = 4
    webhook_backoff_initial: float = 1.0
    webhook_backoff_max: float = 30.0
    #: NPI Registry API v2.1 endpoint (``ROSTER_NPPES_API_URL``).
    nppes_api_url: str = "https://npiregistry.cms.hhs.gov/api/"
    #: NPI Registry requests per second over a whole run, retries included (``ROSTER_NPPES_RATE_PER_SECOND``).
    nppes_rate_per_second: float = 5.0
    #: NPI Registry requests in flight at once (``ROSTER_NPPES_CONCURRENCY``).
    nppes_concurrency: int = 4
    #: Where people reach the workspace (``ROSTER_PUBLIC_URL``); https makes its cookies ``Secure``.
    public_url: str = "http://127.0.0.1:8000"
    #: A workspace session ends after this long without a request (``ROSTER_SESSION_IDLE_MINUTES``)...
    session_idle_minutes: int = 30
    #: ...and this long after sign-in, however busy (``ROSTER_SESSION_MAX_HOURS``).
    session_max_hours: int = 12
    #: The organization's IANA zone (``ROSTER_DEFAULT_TIME_ZONE``): business days and holidays are
    #: counted in it, and a physician created without a ``time_zone`` gets it.
    default_time_zone: str = DEFAULT_TIME_ZONE
    #: Minutes of available time a reviewer needs before a case is due, per review type
    #: (``ROSTER_MIN_REVIEW_MINUTES``, e.g. ``initial=60,appeal=90,peer_to_peer=30``).
    min_review_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIN_REVIEW_MINUTES))
    #: The audit pack's default sample (``ROSTER_AUDIT_SAMPLE_PERCENT``, ``_MAX``, ``_MIN_PER_KIND``): this percent
    #: of the period's credentialing files or this many, whichever is less, with at least this many of each kind.
    audit_sample_percent: float = 5.0
    audit_sample_max: int = 50
    audit_sample_min_per_kind: int = 10
    debug: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        sources = _env_list("ROSTER_REQUIRED_SOURCES", SOURCES)
        unknown = sorted(set(sources) - set(SOURCES))
        if unknown:
            raise ValueError(f"ROSTER_REQUIRED_SOURCES: unknown source(s) {', '.join(unknown)}")
        return replace(
            base,
            database_url=os.environ.get("ROSTER_DATABASE_URL", base.database_url),
            required_sources=sources,
            default_in_state_license=_env_bool("ROSTER_DEFAULT_IN_STATE_LICENSE", base.default_in_state_license),
            require_policy_attestation=_env_bool("ROSTER_REQUIRE_POLICY_ATTESTATION", base.require_policy_attestation),
            warm_index=_env_bool("ROSTER_WARM_INDEX", base.warm_index),
            index_poll_seconds=float(os.environ.get("ROSTER_INDEX_POLL_SECONDS", base.index_poll_seconds)),
            fixtures_dir=Path(os.environ.get("ROSTER_FIXTURES_DIR", base.fixtures_dir)),
            data_dir=Path(os.environ.get("ROSTER_DATA_DIR", base.data_dir)),
            preclusion_columns=_env_columns("ROSTER_PRECLUSION_COLUMNS"),
            max_list_file_bytes=_env_mib("ROSTER_MAX_LIST_FILE_MB", base.max_list_file_bytes),
            max_roster_file_bytes=_env_mib("ROSTER_MAX_ROSTER_FILE_MB", base.max_roster_file_bytes),
            max_evidence_file_bytes=_env_mib("ROSTER_MAX_EVIDENCE_FILE_MB", base.max_evidence_file_bytes),
            list_url_hosts=_env_hosts(base.list_url_hosts),
            list_download_seconds=float(os.environ.get("ROSTER_LIST_DOWNLOAD_SECONDS") or base.list_download_seconds),
            leie_url=os.environ.get("ROSTER_LEIE_URL", base.leie_url) or None,
            sam_url=os.environ.get("ROSTER_SAM_URL") or None,
            preclusion_url=os.environ.get("ROSTER_PRECLUSION_URL") or None,
            job_schedules={
                name.removeprefix("ROSTER_SCHEDULE_").lower(): value.strip()
                for name, value in os.environ.items()
                if name.startswith("ROSTER_SCHEDULE_") and value.strip()
            },
            worker_lock_path=Path(lock) if (lock := os.environ.get("ROSTER_WORKER_LOCK_PATH")) else None,
            worker_standby_seconds=float(os.environ.get("ROSTER_WORKER_STANDBY_SECONDS", base.worker_standby_seconds)),
            **_env_delivery(),
            nppes_api_url=os.environ.get("ROSTER_NPPES_API_URL") or base.nppes_api_url,
            nppes_rate_per_second=float(os.environ.get("ROSTER_NPPES_RATE_PER_SECOND") or base.nppes_rate_per_second),
            nppes_concurrency=int(os.environ.get("ROSTER_NPPES_CONCURRENCY") or base.nppes_concurrency),
            public_url=_env_public_url(base.public_url),
            session_idle_minutes=_env_positive("ROSTER_SESSION_IDLE_MINUTES", base.session_idle_minutes),
            session_max_hours=_env_positive("ROSTER_SESSION_MAX_HOURS", base.session_max_hours),
            default_time_zone=_env_time_zone(base.default_time_zone),
            min_review_minutes=_env_review_minutes(base.min_review_minutes),
            audit_sample_percent=_env_percent("ROSTER_AUDIT_SAMPLE_PERCENT", base.audit_sample_percent),
            audit_sample_max=_env_positive("ROSTER_AUDIT_SAMPLE_MAX", base.audit_sample_max),
            audit_sample_min_per_kind=_env_positive("ROSTER_AUDIT_SAMPLE_MIN_PER_KIND", base.audit_sample_min_per_kind),
            debug=_env_bool("ROSTER_DEBUG", False),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def min_review(self, review_type: str) -> timedelta:
        """The minimum review time for ``review_type`` (the largest configured when it is unknown)."""
        minutes = self.min_review_minutes.get(review_type)
        if minutes is None:
            minutes = max(self.min_review_minutes.values(), default=60)
        return timedelta(minutes=minutes)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_max_hours)

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over TLS when people reach the workspace over https."""
        return self.public_url.startswith("https://")
