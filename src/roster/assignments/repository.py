from __future__ import annotations

from typing import Any
from uuid import UUID

from roster.assignments.tables import Assignment
from roster.history.tables import ASSIGNMENTS, RosterVersion

_COLUMNS = (
    Assignment.id,
    Assignment.case_id,
    Assignment.physician.as_alias("physician_id"),
    Assignment.state,
    Assignment.line_of_business,
    Assignment.specialty,
    Assignment.review_type,
    Assignment.prior_reviewer_ids,
    Assignment.status,
    Assignment.evidence,
    Assignment.due_at,
    Assignment.urgency,
    Assignment.received_at,
    Assignment.created_by,
    Assignment.created_at,
    Assignment.closed_at,
)


async def insert(values: dict[str, Any]) -> None:
    await Assignment.insert(Assignment(**values)).run()
    await _changed()


async def _changed() -> None:
    """Bump the assignments' counter: every replica recounts open cases on its next match. Inside the
    writing transaction, so the count and the counter commit together."""
    await (
        RosterVersion.update({RosterVersion.version: RosterVersion.version + 1})
        .where(RosterVersion.id == ASSIGNMENTS)
        .run()
    )


async def get(assignment_id: UUID) -> dict[str, Any] | None:
    return await Assignment.select(*_COLUMNS).where(Assignment.id == assignment_id).output(load_json=True).first().run()


async def open_for_case(case_id: str, physician_id: UUID) -> bool:
    return (
        await Assignment.exists()
        .where((Assignment.case_id == case_id) & (Assignment.physician == physician_id) & (Assignment.status == "open"))
        .run()
    )


async def close(assignment_id: UUID, values: dict[str, Any]) -> None:
    await (
        Assignment.update({getattr(Assignment, k): v for k, v in values.items()})
        .where(Assignment.id == assignment_id)
        .run()
    )
    await _changed()


async def open_for_physician(physician_id: UUID) -> list[dict[str, Any]]:
    """A physician's open assignments, oldest first (the workspace's physician page)."""
    return (
        await Assignment.select(*_COLUMNS)
        .where((Assignment.physician == physician_id) & (Assignment.status == "open"))
        .order_by(Assignment.created_at)
        .output(load_json=True)
        .run()
    )


async def decided_or_due_between(start: Any, end: Any, line_of_business: str | None) -> list[dict[str, Any]]:
    """Assignments received (or, before receipt was recorded, created) in ``[start, end)`` that have a due time."""
    received = Assignment.received_at
    query = Assignment.select(*_COLUMNS).where(
        Assignment.due_at.is_not_null()
        & (
            (received.is_not_null() & (received >= start) & (received < end))
            | (received.is_null() & (Assignment.created_at >= start) & (Assignment.created_at < end))
        )
    )
    if line_of_business is not None:
        query = query.where(Assignment.line_of_business == line_of_business)
    return await query.order_by(Assignment.due_at, Assignment.id).run()
