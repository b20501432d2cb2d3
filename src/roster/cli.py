"""The ``roster`` command line (api.md "Command line")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from roster.config import Settings
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
@click.pass_obj
def demo(settings: Settings) -> None:
    """Load the demo roster from fixtures/ and print one API key per role."""
    from roster import clock
    from roster.demo.service import load_demo
    from roster.keys.service import create_key

    migrate_database(settings)

    async def work() -> tuple[Any, list[Any]]:
        loaded = await load_demo(settings.fixtures_dir / "demo", clock.today())
        made = [await create_key(name=f"demo-{role.value}", role=role.value, actor="demo") for role in Role]
        return loaded, made

    loaded, made = _run(settings, work)
    click.echo(
        f"demo roster: {loaded.physicians} physicians, {loaded.licenses} licenses, "
        f"{loaded.certifications} certifications loaded ({loaded.skipped} already present)"
    )
    click.echo("API keys (shown once):")
    for key in made:
        click.echo(f"  {key.role.value:<14} {key.key}")
