"""The monthly list refresh: download each configured list, load it as a snapshot, screen the roster.

A download or parse that fails leaves the last good snapshot in force (the download is atomic and
a bad file is rejected before it is stored) and fails the run with what went wrong. It never marks
anyone clear: the roster is still screened against the lists that are loaded, and a list that is
not refreshed ages into ``screening_stale`` under the compliance rules.

Downloads are guarded as a URL posted to the API is (``sources.egress``): a configured URL's host is
allowed because an operator chose it, but its addresses must still be public.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from urllib.parse import urlparse

import httpx

from roster.config import Settings
from roster.errors import InvalidInput
from roster.scheduling.schedule import JobFailed
from roster.screening import service
from roster.sources.download import DownloadError, download
from roster.sources.egress import ListFetchPolicy

log = logging.getLogger(__name__)

ACTOR = "job:list_refresh"


def configured_lists(settings: Settings) -> dict[str, str]:
    """Source -> URL for every list with a URL configured."""
    urls = {"oig_leie": settings.leie_url, "sam": settings.sam_url, "cms_preclusion": settings.preclusion_url}
    return {source: url for source, url in urls.items() if url}


async def refresh_list(source: str, url: str, settings: Settings, http: httpx.AsyncClient) -> bool:
    """Download and load one list; True when the file was new. Raises DownloadError or InvalidInput."""
    staged = await download(
        http, url, service.list_dir(settings.data_dir, source), ListFetchPolicy.from_settings(settings)
    )
    file_name = PurePosixPath(urlparse(url).path).name or f"{source}.download"
    _, created = await service.load_snapshot(
        source, staged.path, staged.sha256, file_name=file_name, origin=url, settings=settings, actor=ACTOR
    )
    return created


async def refresh_lists(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """The ``list_refresh`` job body."""
    counts = {"lists": 0, "loaded": 0, "unchanged": 0, "failed": 0, "screened": 0, "hits": 0, "new_hits": 0}
    failures: list[str] = []
    for source, url in configured_lists(settings).items():
        counts["lists"] += 1
        try:
            created = await refresh_list(source, url, settings, http)
        except (DownloadError, InvalidInput) as exc:
            log.warning("list refresh of %s failed; the last good snapshot stays in force: %s", source, exc)
            counts["failed"] += 1
            failures.append(f"{source}: {exc}")
            continue
        counts["loaded" if created else "unchanged"] += 1
    try:
        # Against whatever is loaded: a list that failed above is screened from its last good snapshot.
        run = await service.run_screening(None, settings=settings, actor=ACTOR)
    except InvalidInput as exc:
        failures.append(f"roster not screened: {exc}")
    else:
        counts.update(screened=run.screened, hits=run.hits, new_hits=run.new_hits)
    if failures:
        raise JobFailed("; ".join(failures), counts)
    return counts
