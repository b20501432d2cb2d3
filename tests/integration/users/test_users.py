"""Workspace users: the service and ``roster users create | disable | reset-password``.

The CLI tests run click in-process (its commands run their own event loop), then sign in over HTTP
with what it printed, in a loop of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner, Result

from roster.audit.tables import AuditEvent
from roster.cli import main
from roster.config import Settings
from roster.errors import Conflict, InvalidInput, NotFound
from roster.users import service as users
from roster.users.tables import AppUser
from tests.integration.web.browser import Browser, workspace


@pytest.fixture
async def clean(settings: Settings) -> AsyncIterator[None]:
    """An emptied database with the engine open (the app's lifespan opens it)."""
    async with workspace(settings):
        yield


def invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"ROSTER_DATABASE_URL": settings.database_url})


def run(settings: Settings, *args: str) -> str:
    result = invoke(settings, *args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def sign_in(settings: Settings, email: str, password: str) -> int:
    """The status of signing in through the app's form (303: signed in)."""

    async def attempt() -> int:
        async with workspace(settings, clean=False) as app, Browser(app) as browser:
            return (await browser.sign_in(email, password)).status_code

    return asyncio.run(attempt())


@pytest.fixture
def emptied(settings: Settings) -> Settings:
    """For the synchronous (CLI) tests: the database emptied, the settings to reach it."""

    async def empty() -> None:
        async with workspace(settings):
            pass

    asyncio.run(empty())
    return settings


# --- the service ------------------------------------------------------------------------------------


async def test_a_user_is_stored_lower_cased_with_an_argon2_hash_and_audited(clean: None) -> None:
    created = await users.create_user(email="  Dana.Reyes@Example.ORG ", role="credentialing", actor="admin-key")
    assert created.user.email == "dana.reyes@example.org" and created.user.role.value == "credentialing"
    assert len(created.password) >= 20
    [row] = await AppUser.select().run()
    assert row["password_hash"].startswith("$argon2id$") and created.password not in row["password_hash"]
    assert row["failed_attempts"] == 0 and row["disabled_at"] is None and row["last_sign_in_at"] is None
    [event] = await AuditEvent.select().where(AuditEvent.entity == "user").output(load_json=True).run()
    assert event["actor"] == "admin-key" and event["action"] == "create"
    assert event["after"] == {"id": str(created.user.id), "email": "dana.reyes@example.org", "role": "credentialing"}


async def test_emails_are_unique_whatever_their_case(clean: None) -> None:
    await users.create_user(email="dana@example.org", role="auditor", actor="t")
    with pytest.raises(Conflict):
        await users.create_user(email="DANA@example.org", role="manager", actor="t")


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [("not-an-email", "admin", "email"), ("a b@example.org", "admin", "email"), ("x@example.org", "owner", "role")],
)
async def test_bad_input_names_the_field(clean: None, email: str, role: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await users.create_user(email=email, role=role, actor="t")
    assert refused.value.errors[0].field == field


async def test_disabling_is_idempotent_and_audited_once(clean: None) -> None:
    created = await users.create_user(email="dana@example.org", role="auditor", actor="t")
    first = await users.disable_user(user_id=created.user.id, actor="t")
    again = await users.disable_user(email="DANA@example.org", actor="t")
    assert first.disabled_at is not None and again.disabled_at == first.disabled_at
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).where(AuditEvent.entity == "user").run()]
    assert sorted(actions) == ["create", "disable"]
    with pytest.raises(NotFound):
        await users.disable_user(email="nobody@example.org", actor="t")


# --- the command line -------------------------------------------------------------------------------


def test_cli_create_prints_a_one_time_password_that_signs_in(emptied: Settings) -> None:
    settings = emptied
    output = run(settings, "users", "create", "--email", "Ops@Example.org", "--role", "manager")
    password = output.strip().splitlines()[-1]
    assert "ops@example.org" in output and password not in output.strip().splitlines()[0]
    assert sign_in(settings, "ops@example.org", password) == 303
    assert sign_in(settings, "ops@example.org", password + "x") == 401


def test_cli_create_refuses_an_unknown_role_and_a_taken_email(emptied: Settings) -> None:
    settings = emptied
    assert invoke(settings, "users", "create", "--email", "x@example.org", "--role", "superuser").exit_code == 2
    run(settings, "users", "create", "--email", "taken@example.org", "--role", "auditor")
    taken = invoke(settings, "users", "create", "--email", "TAKEN@example.org", "--role", "auditor")
    assert taken.exit_code == 1 and "already exists" in taken.output


def test_cli_disable_by_email_or_id_ends_sign_in(emptied: Settings) -> None:
    settings = emptied
    output = run(settings, "users", "create", "--email", "leaving@example.org", "--role", "router")
    password = output.strip().splitlines()[-1]
    disabled = run(settings, "users", "disable", "--email", "leaving@example.org")
    assert "disabled router user leaving@example.org" in disabled
    assert sign_in(settings, "leaving@example.org", password) == 401
    user_id = disabled.split("(")[1].split(")")[0]
    assert "disabled" in run(settings, "users", "disable", user_id), "idempotent, by ID too"
    assert invoke(settings, "users", "disable").exit_code == 2
    assert invoke(settings, "users", "disable", "--email", "nobody@example.org").exit_code == 1


def test_cli_reset_password_replaces_the_old_one(emptied: Settings) -> None:
    settings = emptied
    old = (
        run(settings, "users", "create", "--email", "forgot@example.org", "--role", "auditor").strip().splitlines()[-1]
    )
    new = run(settings, "users", "reset-password", "--email", "forgot@example.org").strip().splitlines()[-1]
    assert new != old
    assert sign_in(settings, "forgot@example.org", old) == 401
    assert sign_in(settings, "forgot@example.org", new) == 303


def test_the_demo_prints_a_user_per_role_that_signs_in(emptied: Settings) -> None:
    settings = emptied

    async def demo_users() -> list[tuple[str, str]]:
        async with workspace(settings, clean=False):
            return [(u.user.email, u.password) for u in await users.demo_users(actor="demo")]

    first = asyncio.run(demo_users())
    assert [email for email, _ in first] == [
        f"demo-{role}@roster.example" for role in ("admin", "credentialing", "router", "manager", "auditor")
    ]
    again = asyncio.run(demo_users())  # a second run resets the passwords rather than failing
    assert sign_in(settings, *again[0]) == 303
    assert sign_in(settings, *first[1]) == 401
