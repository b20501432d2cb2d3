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
class PayloadTooLarge(RosterError):
    status: int = 413
    title: str = "Payload too large"
    type: str = "https://roster.dev/problems/payload-too-large"

    @classmethod
    def over(cls, field_name: str, limit: int) -> PayloadTooLarge:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 and limit % (1 << 20) == 0 else f"{limit} bytes"
        message = f"larger than this endpoint's limit of {size}"
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
