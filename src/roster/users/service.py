"""Workspace users and their browser sessions.

Passwords are argon2id hashes (a slow hash: unlike API keys, people pick guessable secrets). A
session is a random 32-byte token in an HttpOnly cookie; the database keeps only its SHA-256, so a
leaked table opens nothing, and every replica shares the sessions. Sign-in always issues a new
token and deletes the one the browser came with (no session fixation).

Guessing is throttled per account: ``MAX_FAILURES`` consecutive failures lock it for ``LOCKOUT``,
during which even the right password is refused. Unknown emails are verified against a dummy hash,
so they take as long as known ones, and every failure gets the same message.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from roster import clock
from roster.audit import service as audit
from roster.db import write_tx
from roster.errors import Conflict, FieldError, InvalidInput, NotFound, RosterError
from roster.keys.schemas import Role
from roster.users import repository
from roster.users.schemas import SessionUser, SignedIn, UserCreated, UserRead

#: Consecutive failures that lock an account, and for how long.
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
#: ``last_seen_at`` granularity: a session is written at most this often, not on every page.
TOUCH_EVERY = timedelta(minutes=1)

INCORRECT = "Email or password is incorrect."
LOCKED = "Too many failed sign-ins for this email. Try again in 15 minutes."

_hasher = PasswordHasher()  # argon2id with RFC 9106's low-memory parameters
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


class SignInRefused(RosterError):
    """Wrong password, unknown email or disabled account: deliberately indistinguishable."""

    def __init__(self) -> None:
        super().__init__(detail=INCORRECT, status=401, title="Sign-in refused")


class SignInLocked(RosterError):
    def __init__(self) -> None:
        super().__init__(detail=LOCKED, status=429, title="Too many requests")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def session_key(token: str) -> str:
    """The stored id of the session a cookie's token opens."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """32 random bytes, URL-safe (43 characters): session cookies and CSRF tokens."""
    return secrets.token_urlsafe(32)


def new_password() -> str:
    """20 URL-safe characters (120 random bits): shown once, typed once."""
    return secrets.token_urlsafe(15)


async def _hash(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU and releases the GIL: off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """What an unknown email's password is checked against, so it costs a known one's time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _actor(email: str) -> str:
    """The audit actor for an attempt: the email typed, unless it is no email (a password typed
    into the wrong box must not end up in the audit log)."""
    return email[:100] if _EMAIL.match(email) else "(not an email)"


def _user_read(row: dict[str, Any]) -> UserRead:
    return msgspec.convert({k: row[k] for k in UserRead.__struct_fields__}, UserRead)


def _audited(user: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a user: never the password or its hash."""
    return msgspec.to_builtins({k: user[k] for k in ("id", "email", "role", "disabled_at") if k in user})


def _checked_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput.on("email", "must be an email address (at most 254 characters)")
    return email


async def create_user(*, email: str, role: str, actor: str) -> UserCreated:
    """A new user with a random one-time password, returned once in plaintext."""
    email = _checked_email(email)
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidInput.on("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    password = new_password()
    password_hash = await _hash(password)
    now = clock.now()
    user_id = uuid.uuid4()
    async with write_tx(roster_change=False):
        if await repository.find_by_email(email) is not None:
            raise Conflict(f"a user with email {email} already exists", errors=[FieldError("email", "already on file")])
        await repository.insert(id=user_id, email=email, role=role_.value, password_hash=password_hash, created_at=now)
        await audit.record(
            actor=actor,
            action="create",
            entity="user",
            entity_id=user_id,
            after=_audited({"id": user_id, "email": email, "role": role_.value}),
        )
    user = UserRead(id=user_id, email=email, role=role_, created_at=now, disabled_at=None, last_sign_in_at=None)
    return UserCreated(user=user, password=password)


async def _find(*, user_id: UUID | None, email: str | None) -> dict[str, Any]:
    row = (
        await repository.get(user_id)
        if user_id is not None
        else await repository.find_by_email(normalize_email(email or ""))
    )
    if row is None:
        raise NotFound(f"no user {user_id or email}")
    return row


async def disable_user(*, actor: str, user_id: UUID | None = None, email: str | None = None) -> UserRead:
    """The user can no longer sign in, and their open sessions end now. Idempotent, like revoking a key:
    disabling a disabled user changes and records nothing."""
    now = clock.now()
    async with write_tx(roster_change=False):
        current = await _find(user_id=user_id, email=email)
        if current["disabled_at"] is None and await repository.disable(current["id"], at=now):
            await repository.delete_sessions_of(current["id"])
            await audit.record(
                actor=actor,
                action="disable",
                entity="user",
                entity_id=current["id"],
                before=_audited(current),
                after=_audited({**current, "disabled_at": now}),
            )
            current = {**current, "disabled_at": now}
    return _user_read(current)


async def reset_password(*, actor: str, email: str) -> UserCreated:
    """A new one-time password; the old one and every open session stop working, a lockout is lifted."""
    password = new_password()
    password_hash = await _hash(password)
    async with write_tx(roster_change=False):
        current = await _find(user_id=None, email=email)
        await repository.set_password(current["id"], password_hash)
        await repository.delete_sessions_of(current["id"])
        await audit.record(actor=actor, action="reset_password", entity="user", entity_id=current["id"])
    return UserCreated(user=_user_read(current), password=password)


def _locked(user: dict[str, Any], now: datetime) -> bool:
    return user["locked_until"] is not None and user["locked_until"] > now


async def sign_in(email: str, password: str, *, lifetime: timedelta, replacing: str | None = None) -> SignedIn:
    """A new session for the right email and password; ``replacing``: the session token the browser
    came with, deleted (whoever it belonged to, the browser is now this user's).

    Raises :class:`SignInRefused` or :class:`SignInLocked`; either way the attempt is audited.
    """
    email = normalize_email(email)
    now = clock.now()
    user = await repository.find_by_email(email) if _EMAIL.match(email) else None
    if user is not None and _locked(user, now):
        await _failed(email, user, "locked", now)
        raise SignInLocked()
    ok = await _verify(user["password_hash"] if user is not None else _dummy_hash(), password)
    if user is None or not ok or user["disabled_at"] is not None:
        reason = (
            "unknown_email" if user is None else "disabled" if user["disabled_at"] is not None else "wrong_password"
        )
        await _failed(email, user, reason, now)
        raise SignInRefused()
    rehashed = await _hash(password) if _hasher.check_needs_rehash(user["password_hash"]) else None
    token = new_token()
    csrf = new_token()
    expires_at = now + lifetime
    async with write_tx(roster_change=False):
        current = await repository.get(user["id"])
        # Judged again under the write lock: a burst of guesses may have locked it, or an admin disabled it.
        if current is None or current["disabled_at"] is not None:
            raise SignInRefused()
        if _locked(current, now):
            raise SignInLocked()
        await repository.signed_in(user["id"], at=now, password_hash=rehashed)
        await repository.delete_expired_sessions(now)
        if replacing is not None:
            await repository.delete_session(session_key(replacing))
        await repository.insert_session(
            id=session_key(token), user_id=user["id"], created_at=now, expires_at=expires_at, data={"csrf": csrf}
        )
        await audit.record(
            actor=_actor(email),
            action="sign_in",
            entity="user",
            entity_id=user["id"],
            after={"session_expires_at": expires_at.isoformat()},
        )
    return SignedIn(token=token, user=SessionUser(user_id=user["id"], email=email, role=Role(user["role"]), csrf=csrf))


async def _failed(email: str, user: dict[str, Any] | None, reason: str, now: datetime) -> None:
    """Audit a failed attempt; a wrong password also counts towards the lockout."""
    after: dict[str, Any] = {"reason": reason}
    async with write_tx(roster_change=False):
        if user is not None and reason == "wrong_password":
            after["failed_attempts"] = failures = await repository.count_failure(user["id"])
            if failures >= MAX_FAILURES:
                until = now + LOCKOUT
                await repository.lock(user["id"], until=until)
                after["locked_until"] = until.isoformat()
        await audit.record(
            actor=_actor(email),
            action="sign_in_failed",
            entity="user",
            entity_id=user["id"] if user is not None else "unknown",
            after=after,
        )


async def session_user(token: str, *, idle: timedelta) -> SessionUser | None:
    """The signed-in user of a session cookie, or None when it opens nothing: unknown, idle longer than
    ``idle``, past its absolute expiry, or its user disabled (a dead session is deleted on sight)."""
    if not _TOKEN.match(token):
        return None
    row = await repository.find_session(session_key(token))
    if row is None:
        return None
    now = clock.now()
    if row["disabled_at"] is not None or now >= row["expires_at"] or now - row["last_seen_at"] >= idle:
        await repository.delete_session(row["id"])  # one statement, atomic on its own
        return None
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        await repository.touch_session(row["id"], at=now)
    return SessionUser(user_id=row["user_id"], email=row["email"], role=Role(row["role"]), csrf=row["data"]["csrf"])


async def sign_out(token: str) -> None:
    """Delete the session server-side: its cookie opens nothing from now on, wherever it is replayed."""
    if not _TOKEN.match(token):
        return
    row = await repository.find_session(session_key(token))
    if row is None:
        return
    async with write_tx(roster_change=False):
        if await repository.delete_session(row["id"]):
            await audit.record(actor=_actor(row["email"]), action="sign_out", entity="user", entity_id=row["user_id"])


async def demo_users(*, actor: str) -> list[UserCreated]:
    """One user per role for the demo (``demo-<role>@roster.example``); run again, each gets a new
    password, so the demo can always print working ones."""
    made = []
    for role in Role:
        email = f"demo-{role.value}@roster.example"
        try:
            made.append(await create_user(email=email, role=role.value, actor=actor))
        except Conflict:
            made.append(await reset_password(email=email, actor=actor))
    return made
