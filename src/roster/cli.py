"""The ``roster`` command line (api.md "Command line")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from roster.config import SOURCES, Settings
from roster.keys.schemas import Role

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run one async unit of work with the engine open."""
    from roster.db import close_engine, open_engine

    async def main() -> T:
        engine = await open_engine(settings, pool=False)
        try:
            return await work()
        finally:
            await close_engine(engine)

    return asyncio.run(main())


def migrate_database(settings: Settings) -> tuple[int, int]:
    from roster.db.migrate import upgrade
    from roster.reference.service import sync_reference_data

    upgrade(settings)
    return _run(settings, lambda: sync_reference_data(settings.fixtures_dir))


@click.group()
@click.version_option(package_name="roster")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Roster: UM physician-reviewer compliance and case routing."""
    ctx.obj = Settings.from_env()


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Apply migrations up to head and load reference data (idempotent)."""
    specialties, states = migrate_database(settings)
    click.echo(f"database at head; {specialties} specialties, {states} state rules loaded")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Migrate, then serve the API."""
    import uvicorn

    migrate_database(settings)
    click.echo(
        f"Roster API on http://{host}:{port}  docs: http://{host}:{port}/schema  database: {settings.database_url}"
    )
    if workers > 1:
        uvicorn.run("roster.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")
    else:
        from roster.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.pass_obj
def keys_create(settings: Settings, name: str, role: str) -> None:
    """Print a new API key; the plaintext is shown once, on the last line."""
    from roster.keys.service import create_key

    created = _run(settings, lambda: create_key(name=name, role=role, actor="cli"))
    click.echo(
        f"created {created.role.value} key {created.name!r} ({created.id}); store it now, it is not shown again:"
    )
    click.echo(created.key)


@main.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(list(SOURCES)),
    help="List to load/screen (repeatable; default: every list with a snapshot).",
)
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url")
@click.pass_obj
def screen(settings: Settings, sources: tuple[str, ...], file_path: Path | None, url: str | None) -> None:
    """Load a list file (--file or --url) and screen the active roster against the lists."""
    from roster.errors import RosterError

    if file_path and url:
        raise click.UsageError("give --file or --url, not both")
    if (file_path or url) and len(sources) != 1:
        raise click.UsageError("name the list the file belongs to with exactly one --source")
    try:
        summary = _run(settings, lambda: _screen(settings, sources, file_path, url))
    except RosterError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(summary)


async def _screen(settings: Settings, sources: tuple[str, ...], file_path: Path | None, url: str | None) -> str:
    import httpx

    from roster.errors import InvalidInput
    from roster.screening import service
    from roster.sources.download import DownloadError, download, save_stream

    lines = []
    if file_path or url:
        source = sources[0]
        staging = service.list_dir(settings.data_dir, source)
        if file_path:
            staged = await save_stream(_file_chunks(file_path), staging)
            name = file_path.name
        else:
            assert url is not None
            async with httpx.AsyncClient(timeout=httpx.Timeout(settings.download_timeout, connect=10)) as client:
                try:
                    staged = await download(client, url, staging)
                except DownloadError as exc:
                    raise InvalidInput.on("url", str(exc)) from None
            name = Path(url.split("?", 1)[0]).name or f"{source}.download"
        snapshot, created = await service.load_snapshot(
            source,
            staged.path,
            staged.sha256,
            file_name=name,
            origin=str(file_path or url),
            settings=settings,
            actor="cli",
        )
        lines.append(
            f"{source}: {'loaded' if created else 'already loaded'} snapshot {snapshot.id} "
            f"({snapshot.rows} rows, sha256 {snapshot.sha256[:12]})"
        )
    run = await service.run_screening(list(sources) or None, settings=settings, actor="cli", progress=click.echo)
    lines.append(
        f"run {run.id}: screened {run.screened} physicians against {', '.join(run.sources)}; "
        f"{run.hits} matches, {run.new_hits} new hits pending review"
    )
    return "\n".join(lines)


async def _file_chunks(path: Path, *, progress: bool = True):  # type: ignore[no-untyped-def]
    """A local file in 1 MiB chunks, with a progress bar on the terminal when ``progress``."""
    size = path.stat().st_size
    label = f"reading {path.name}"
    with path.open("rb") as handle, click.progressbar(length=size, label=label, hidden=not progress) as bar:
        while chunk := handle.read(1 << 20):
            bar.update(len(chunk))
            yield chunk


DEMO_LISTS = (
    ("oig_leie", "UPDATED.csv"),
    ("sam", "SAM_Exclusions_Public_Extract_V2_26327.ZIP"),
    ("cms_preclusion", "preclusion.csv"),
)


@main.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Load the demo roster and list files from fixtures/, screen it, and print one API key per role."""
    from roster import clock
    from roster.demo.service import load_demo
    from roster.keys.service import create_key
    from roster.screening import service as screening
    from roster.sources.download import save_stream

    migrate_database(settings)

    async def work() -> tuple[Any, Any, list[Any]]:
        loaded = await load_demo(settings.fixtures_dir / "demo", clock.today())
        for source, name in DEMO_LISTS:
            path = settings.fixtures_dir / "lists" / name
            staged = await save_stream(
                _file_chunks(path, progress=False), screening.list_dir(settings.data_dir, source)
            )
            await screening.load_snapshot(
                source, staged.path, staged.sha256, file_name=name, origin=str(path), settings=settings, actor="demo"
            )
        run = await screening.run_screening(None, settings=settings, actor="demo")
        made = [await create_key(name=f"demo-{role.value}", role=role.value, actor="demo") for role in Role]
        return loaded, run, made

    loaded, run, made = _run(settings, work)
    click.echo(
        f"demo roster: {loaded.physicians} physicians, {loaded.licenses} licenses, "
        f"{loaded.certifications} certifications loaded ({loaded.skipped} already present)"
    )
    click.echo(f"screened against {', '.join(run.sources)}: {run.hits} matches, {run.new_hits} new hits pending review")
    click.echo("API keys (shown once):")
    for key in made:
        click.echo(f"  {key.role.value:<14} {key.key}")
