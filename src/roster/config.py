"""Settings, read once from ``ROSTER_*`` environment variables.

Tests and tools build :class:`Settings` explicitly and pass it to ``create_app`` instead of racing
environment variables; nothing here touches the database or the network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

SOURCES = ("oig_leie", "sam", "cms_preclusion")

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


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///roster.db"
    #: Screening sources the compliance report requires (``ROSTER_REQUIRED_SOURCES``).
    required_sources: tuple[str, ...] = SOURCES
    #: Organization default where a state has no rule of its own: license must be in the case's state.
    default_in_state_license: bool = True
    #: Days a list snapshot stays fresh enough to count as screened (rules.md §1).
    screening_max_age_days: int = 35
    fixtures_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "fixtures")
    alembic_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "alembic")
    #: Where loaded list files and their parsed snapshots are kept (``ROSTER_DATA_DIR``).
    data_dir: Path = field(default_factory=lambda: Path("var"))
    #: Seconds to wait for a list download before giving up (connect and between reads).
    download_timeout: float = 60.0
    #: Jaro-Winkler similarity a name-only match needs (rules.md §4 "name").
    fuzzy_name_threshold: float = 0.93
    #: The plan's Preclusion List layout where it differs from the default: field -> the file's column
    #: header, or null for a column the file lacks (``ROSTER_PRECLUSION_COLUMNS``, a JSON object).
    preclusion_columns: dict[str, str | None] = field(default_factory=dict)
    #: Seconds an SQLite writer waits for the lock before failing.
    sqlite_busy_timeout: float = 30.0
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    #: Seconds an authenticated API key stays cached in a process (revocation takes this long).
    api_key_cache_seconds: float = 30.0
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
            fixtures_dir=Path(os.environ.get("ROSTER_FIXTURES_DIR", base.fixtures_dir)),
            data_dir=Path(os.environ.get("ROSTER_DATA_DIR", base.data_dir)),
            preclusion_columns=_env_columns("ROSTER_PRECLUSION_COLUMNS"),
            debug=_env_bool("ROSTER_DEBUG", False),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
