from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from roster.users.tables import AppUser, WebSession

_LISTED = (
    AppUser.id,
    AppUser.email,
    AppUser.role,
    AppUser.created_at,
    AppUser.disabled_at,
    AppUser.last_sign_in_at,
)
_FOR_SIGN_IN = (*_LISTED, AppUser.password_hash, AppUser.failed_attempts, AppUser.locked_until)


async def insert(*, id: UUID, email: str, role: str, password_hash: str, created_at: datetime) -> None:
    await AppUser.insert(
        AppUser(id=id, email=email, role=role, password_hash=password_hash, created_at=created_at)
    ).run()


async def find_by_email(email: str) -> dict[str, Any] | None:
    """Everything sign-in needs to judge an attempt, hash included."""
    return await AppUser.select(*_FOR_SIGN_IN).where(AppUser.email == email).first().run()


async def get(user_id: UUID) -> dict[str, Any] | None:
    return await AppUser.select(*_FOR_SIGN_IN).where(AppUser.id == user_id).first().run()


async def count_failure(user_id: UUID) -> int:
    """One more consecutive failure, counted atomically (concurrent attempts each count)."""
    rows = await (
        AppUser.update({AppUser.failed_attempts: AppUser.failed_attempts + 1})
        .where(AppUser.id == user_id)
        .returning(AppUser.failed_attempts)
        .run()
    )
    return int(rows[0]["failed_attempts"]) if rows else 0


async def lock(user_id: UUID, *, until: datetime) -> None:
    await AppUser.update({AppUser.failed_attempts: 0, AppUser.locked_until: until}).where(AppUser.id == user_id).run()


async def signed_in(user_id: UUID, *, at: datetime, password_hash: str | None = None) -> None:
    """A success clears the failure count and any lapsed lock; ``password_hash``: a rehash."""
    values: dict[Any, Any] = {AppUser.failed_attempts: 0, AppUser.locked_until: None, AppUser.last_sign_in_at: at}
    if password_hash is not None:
        values[AppUser.password_hash] = password_hash
    await AppUser.update(values).where(AppUser.id == user_id).run()


async def set_password(user_id: UUID, password_hash: str) -> None:
    await (
        AppUser.update({AppUser.password_hash: password_hash, AppUser.failed_attempts: 0, AppUser.locked_until: None})
        .where(AppUser.id == user_id)
        .run()
    )


async def disable(user_id: UUID, *, at: datetime) -> bool:
    """False when the user was disabled already (perhaps concurrently)."""
    changed = await (
        AppUser.update({AppUser.disabled_at: at})
        .where((AppUser.id == user_id) & AppUser.disabled_at.is_null())
        .returning(AppUser.id)
        .run()
    )
    return bool(changed)


async def insert_session(
    *, id: str, user_id: UUID, created_at: datetime, expires_at: datetime, data: dict[str, Any]
) -> None:
    await WebSession.insert(
        WebSession(
            id=id, user=user_id, created_at=created_at, last_seen_at=created_at, expires_at=expires_at, data=data
        )
    ).run()


async def find_session(session_id: str) -> dict[str, Any] | None:
    """The session with its user's current email, role and status (a role change shows at once)."""
    return await (
        WebSession.select(
            WebSession.id,
            WebSession.last_seen_at,
            WebSession.expires_at,
            WebSession.data,
            WebSession.user.id.as_alias("user_id"),
            WebSession.user.email.as_alias("email"),
            WebSession.user.role.as_alias("role"),
            WebSession.user.disabled_at.as_alias("disabled_at"),
        )
        .where(WebSession.id == session_id)
        .output(load_json=True)
        .first()
        .run()
    )


async def touch_session(session_id: str, *, at: datetime) -> None:
    await (
        WebSession.update({WebSession.last_seen_at: at})
        .where((WebSession.id == session_id) & (WebSession.last_seen_at < at))
        .run()
    )


async def delete_session(session_id: str) -> bool:
    deleted = await WebSession.delete().where(WebSession.id == session_id).returning(WebSession.id).run()
    return bool(deleted)


async def delete_sessions_of(user_id: UUID) -> None:
    await WebSession.delete().where(WebSession.user == user_id).run()


async def delete_expired_sessions(now: datetime) -> None:
    await WebSession.delete().where(WebSession.expires_at <= now).run()
