from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import msgspec


class Role(StrEnum):
    admin = "admin"
    credentialing = "credentialing"
    router = "router"
    manager = "manager"
    auditor = "auditor"


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the key's name is the actor recorded in the audit log."""

    key_id: UUID
    name: str
    role: Role


class ApiKeyRead(msgspec.Struct):
    """A key as listed: never its plaintext, hash or prefix."""

    id: UUID
    name: str
    role: Role
    created_at: datetime
    #: The last day (UTC) the key is accepted; None: until revoked.
    expires_on: date | None
    #: To the minute: each process records a key's use at most once a minute.
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    id: UUID
    name: str
    role: Role
    created_at: datetime
    expires_on: date | None
    #: Shown once; only its hash is stored.
    key: str
