from __future__ import annotations

from datetime import datetime
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


class ApiKeyCreated(msgspec.Struct):
    id: UUID
    name: str
    role: Role
    created_at: datetime
    #: Shown once; only its hash is stored.
    key: str
