"""Domain errors. Services raise these; the HTTP layer renders them as RFC 9457 problem details."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


@dataclass
class RosterError(Exception):
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 500
    title: str = "Internal error"
    type: str = "about:blank"

    def __str__(self) -> str:
        return self.detail


@dataclass
class InvalidInput(RosterError):
    status: int = 422
    title: str = "Invalid input"
    type: str = "https://roster.dev/problems/invalid-input"

    @classmethod
    def on(cls, field_name: str, message: str) -> InvalidInput:
        return cls(detail=f"{field_name}: {message}", errors=[FieldError(field_name, message)])


@dataclass
class NotFound(RosterError):
    status: int = 404
    title: str = "Not found"
    type: str = "https://roster.dev/problems/not-found"


@dataclass
class Conflict(RosterError):
    status: int = 409
    title: str = "Conflict"
    type: str = "https://roster.dev/problems/conflict"
