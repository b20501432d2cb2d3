from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from roster.keys.schemas import Role


class UserRead(msgspec.Struct):
    """A user as shown: never the password or its hash."""

    id: UUID
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    last_sign_in_at: datetime | None


class UserCreated(msgspec.Struct):
    user: UserRead
    #: Shown once; only its argon2 hash is stored.
    password: str


class SessionUser(msgspec.Struct, frozen=True):
    """Who a browser is signed in as, read afresh from the database on every page request."""

    user_id: UUID
    email: str
    role: Role
    #: The session's CSRF token: every form of this session must carry it.
    csrf: str


class SignedIn(msgspec.Struct, frozen=True):
    #: The cookie's value; the database keeps only its SHA-256.
    token: str
    user: SessionUser
