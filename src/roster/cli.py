"""The ``roster`` command line (api.md "Command line")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
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
@click.option(
    "--expires-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The key's last day (UTC, YYYY-MM-DD); default: until revoked.",
)
@click.pass_obj
def keys_create(settings: Settings, name: str, role: str, expires_on: datetime | None) -> None:
    """Print a new API key; the plaintext is shown once, on the last line."""
    from roster.keys.service import create_key

    last_day = None if expires_on is None else expires_on.date()
    created = _keys_run(settings, lambda: create_key(name=name, role=role, expires_on=last_day, actor="cli"))
    until = "" if last_day is None else f", valid through {last_day.isoformat()} UTC"
    click.echo(
        f"created {created.role.value} key {created.name!r} ({created.id}{until}); store it now, it is not shown again:"
    )
    click.echo(created.key)


@keys.command("list")
@click.option("--name", help="Only keys with this name.")
@click.option("--live", is_flag=True, help="Leave out revoked keys.")
@click.pass_obj
def keys_list(settings: Settings, name: str | None, live: bool) -> None:
    """List API keys, newest first (never the keys themselves)."""
    from roster.keys.service import list_page

    async def every_key() -> list[Any]:
        found: list[Any] = []
        cursor: str | None = None
        while True:
            page = await list_page(name=name, include_revoked=not live, cursor=cursor, limit=500)
            found += page.items
            if (cursor := page.next_cursor) is None:
                return found

    def shown(value: date | datetime | None) -> str:
        if value is None:
            return "-"
        return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value.isoformat()

    click.echo("id\tname\trole\tcreated_at\texpires_on\tlast_used_at\trevoked_at")
    for key in _keys_run(settings, every_key):
        fields = (key.created_at, key.expires_on, key.last_used_at, key.revoked_at)
        click.echo("\t".join([str(key.id), key.name, key.role.value, *map(shown, fields)]))


@keys.command("revoke")
@click.argument("key_id", metavar="ID", type=click.UUID)
@click.pass_obj
def keys_revoke(settings: Settings, key_id: uuid.UUID) -> None:
    """Revoke an API key: refused from then on, by every replica within a second. Idempotent."""
    from roster.keys.service import revoke_key

    key = _keys_run(settings, lambda: revoke_key(key_id, actor="cli"))
    click.echo(f"revoked {key.role.value} key {key.name!r} ({key.id}) at {key.revoked_at}")


@main.group()
def users() -> None:
    """Workspace users (people signing in with a browser; systems use API keys)."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.pass_obj
def users_create(settings: Settings, email: str, role: str) -> None:
    """Create a user; their one-time password is shown once, on the last line."""
    from roster.users.service import create_user

    created = _keys_run(settings, lambda: create_user(email=email, role=role, actor="cli"))
    click.echo(
        f"created {created.user.role.value} user {created.user.email} ({created.user.id}); "
        "their one-time password, not shown again:"
    )
    click.echo(created.password)


@users.command("disable")
@click.argument("user_id", metavar="[ID]", required=False, type=click.UUID)
@click.option("--email", help="The user's email, instead of ID.")
@click.pass_obj
def users_disable(settings: Settings, user_id: uuid.UUID | None, email: str | None) -> None:
    """Disable a user: sign-in refused and open sessions ended, at once. Idempotent."""
    from roster.users.service import disable_user

    if (user_id is None) == (email is None):
        raise click.UsageError("give the user's ID or --email, not both")
    user = _keys_run(settings, lambda: disable_user(user_id=user_id, email=email, actor="cli"))
    click.echo(f"disabled {user.role.value} user {user.email} ({user.id}) at {user.disabled_at}")


@users.command("reset-password")
@click.option("--email", required=True)
@click.pass_obj
def users_reset_password(settings: Settings, email: str) -> None:
    """Give a user a new one-time password (last line); their sessions end and a lockout is lifted."""
    from roster.users.service import reset_password

    reset = _keys_run(settings, lambda: reset_password(email=email, actor="cli"))
    click.echo(f"new one-time password for {reset.user.email} ({reset.user.id}), not shown again:")
    click.echo(reset.password)


def _keys_run(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    from roster.errors import RosterError

    try:
        return _run(settings, work)
    except RosterError as exc:
        raise click.ClickException(exc.detail) from None


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
    from roster.errors import InvalidInput
    from roster.screening import service
    from roster.sources import egress
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
            async with egress.http_client(settings) as client:
                try:
                    staged = await download(client, url, staging, egress.ListFetchPolicy.from_settings(settings))
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


@main.group()
def nppes() -> None:
    """NPPES verification of the roster's NPIs."""


@nppes.command("verify")
@click.option("--file", "file_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--increment", is_flag=True, help="A weekly increment: NPIs absent from it are left unchanged.")
@click.pass_obj
def nppes_verify(settings: Settings, file_path: Path, increment: bool) -> None:
    """Check every roster NPI against an NPPES dissemination file (npidata_pfile_*.csv) in one pass."""
    from roster.errors import RosterError
    from roster.nppes.service import verify_file

    try:
        counts = _run(settings, lambda: verify_file(settings, file_path, progress=click.echo, full=not increment))
    except RosterError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(
        f"checked {counts['checked']} of {counts['physicians']} physicians: {counts['verified']} active, "
        f"{counts['deactivated']} deactivated, {counts['not_found']} not in the file, {counts['error']} unreadable; "
        f"{counts['changed']} NPI statuses changed"
    )


@main.command()
@click.pass_obj
def worker(settings: Settings) -> None:
    """Run the job scheduler in the foreground (one leader at a time; others wait as standbys)."""
    from jobs.worker import main as run_worker

    from roster.scheduling.schedule import ScheduleError, triggers

    try:
        triggers(settings)
    except ScheduleError as exc:
        raise click.ClickException(f"ROSTER_SCHEDULE_*: {exc}") from None
    run_worker(settings)


@main.command("import")
@click.argument("file_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.pass_obj
def import_roster(settings: Settings, file_path: Path, dry_run: bool) -> None:
    """Bulk load physicians, licenses and certifications from a CSV or XLSX file (all or nothing)."""
    from roster.imports.service import ImportRejected
    from roster.imports.service import import_roster as load

    bar = click.progressbar(length=1, label=f"importing {file_path.name}")

    def progress(done: int, total: int) -> None:
        bar.length = total
        bar.update(done - bar.pos)

    data = file_path.read_bytes()
    try:
        with bar:
            result = _run(
                settings,
                lambda: load(
                    data,
                    file_name=file_path.name,
                    dry_run=dry_run,
                    actor="cli",
                    progress=progress,
                    default_time_zone=settings.default_time_zone,
                ),
            )
    except ImportRejected as exc:
        for error in exc.errors:
            click.echo(f"{error.field}: {error.message}")
        click.echo(f"nothing was imported: {len(exc.errors)} error(s) in {file_path.name}")
        raise click.exceptions.Exit(1) from None
    for kind, counts in result.changes.items():
        click.echo(f"{kind}: {counts.created} new, {counts.updated} updated, {counts.unchanged} unchanged")
    done = "checked (dry run, nothing written)" if dry_run else "imported"
    click.echo(
        f"{done}: {result.physicians} physicians, {result.licenses} licenses, "
        f"{result.certifications} certifications from {file_path.name}"
    )


DEMO_LISTS = (
    ("oig_leie", "UPDATED.csv"),
    ("sam", "SAM_Exclusions_Public_Extract_V2_26327.ZIP"),
    ("cms_preclusion", "preclusion.csv"),
)
#: The NPPES dissemination sample matching the demo roster (fixtures/nppes/README.md).
DEMO_NPPES_FILE = "npidata_pfile_20050523-20261108.csv"


@main.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Load the demo roster and list files from fixtures/, screen it, and print one API key and one
    workspace user per role."""
    from roster import clock
    from roster.alerts.sweep import sweep
    from roster.demo.service import load_demo
    from roster.keys.service import create_key
    from roster.nppes.service import verify_file
    from roster.screening import service as screening
    from roster.sources.download import save_stream
    from roster.users.service import demo_users

    migrate_database(settings)

    async def work() -> tuple[Any, Any, dict[str, int], dict[str, int], list[Any], list[Any]]:
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
        npis = await verify_file(settings, settings.fixtures_dir / "nppes" / DEMO_NPPES_FILE)
        alerts = await sweep(clock.today())
        made = [await create_key(name=f"demo-{role.value}", role=role.value, actor="demo") for role in Role]
        return loaded, run, npis, alerts, made, await demo_users(actor="demo")

    loaded, run, npis, alerts, made, people = _run(settings, work)
    click.echo(
        f"demo roster: {loaded.physicians} physicians, {loaded.licenses} licenses, "
        f"{loaded.certifications} certifications loaded ({loaded.skipped} already present)"
    )
    click.echo(f"screened against {', '.join(run.sources)}: {run.hits} matches, {run.new_hits} new hits pending review")
    click.echo(
        f"NPIs checked against the sample NPPES file: {npis['verified']} active, {npis['deactivated']} deactivated, "
        f"{npis['not_found']} not found"
    )
    click.echo(f"expiration sweep: {alerts['raised']} alerts raised (GET /api/v1/alerts)")
    click.echo("API keys (shown once):")
    for key in made:
        click.echo(f"  {key.role.value:<14} {key.key}")
    click.echo("Workspace users, email and one-time password (shown once; sign in at /login):")
    for person in people:
        click.echo(f"  {person.user.email:<32} {person.password}")
