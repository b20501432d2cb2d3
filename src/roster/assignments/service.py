"""Assign a case to a reviewer: re-check eligibility in the same transaction, keep the evidence."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.assignments import repository
from roster.assignments.schemas import AssignmentCreate, AssignmentRead, AssignmentUpdate
from roster.audit import service as audit
from roster.availability.rules import availability, time_reasons
from roster.db import write_tx
from roster.errors import Conflict, FieldError, NotFound
from roster.matching import repository as matching
from roster.matching.facts import Decision, ReviewerFacts
from roster.matching.facts_loader import current_reviewers
from roster.matching.rules import evaluate
from roster.matching.service import RosterCache, case_of, case_time
from roster.schedules.service import schedule_of


def to_read(row: dict[str, Any]) -> AssignmentRead:
    return msgspec.convert(row, AssignmentRead, strict=False)


def evidence_of(reviewer: ReviewerFacts, decision: Decision, *, as_of: Any, evaluated_at: Any) -> dict[str, Any]:
    """What the decision relied on, so "was this reviewer allowed to decide this case?" can be proven later."""
    lic = decision.license
    return msgspec.to_builtins(
        {
            "evaluated_at": evaluated_at,
            "as_of": as_of,
            "specialty_match": decision.specialty_match,
            "specialty_source": decision.specialty_source,
            "license": lic,
            "certifications": list(decision.certifications),
            "screening": list(reviewer.snapshots),
            "open_cases_before": decision.open_cases,
            "max_open_cases": decision.max_open_cases,
        }
    )


async def create(data: AssignmentCreate, cache: RosterCache, *, actor: str) -> AssignmentRead:
    """201 with the evidence, or 409 with every reason the reviewer is not eligible right now.

    The physician's row is locked (PostgreSQL) or the write transaction is exclusive (SQLite) while
    capacity is counted and the assignment inserted, so two routers racing for a reviewer's last free
    slot get one 201 and one 409.
    """
    roster = await cache.current()
    case = case_of(
        roster,
        state=data.state,
        line_of_business=data.line_of_business,
        specialty=data.specialty,
        review_type=data.review_type,
        prior_reviewer_ids=data.prior_reviewer_ids,
    )
    timing = await case_time(data, roster, cache.settings)
    async with write_tx(roster_change=False):
        now = clock.now()
        if not await matching.lock_physician(data.physician_id):
            raise NotFound(f"no physician {data.physician_id}")
        if await repository.open_for_case(data.case_id, data.physician_id):
            raise Conflict(
                f"case {data.case_id} is already assigned to this physician",
                errors=[FieldError("case_id", "already has an open assignment to this physician")],
            )
        counts = await matching.open_assignment_counts(data.physician_id)
        (reviewer,) = await current_reviewers(now, data.physician_id, counts)
        decision = evaluate(reviewer, case, now.date(), roster.rules)
        schedule = await schedule_of(data.physician_id, None if not timing.replayed else timing.at)
        available = availability(schedule, timing.at, timing.due_at, timing.min_review, timing.holidays)
        reasons = [*decision.reasons, *time_reasons(available, require_now=timing.require_now)]
        if reasons:
            raise Conflict(
                "physician is not eligible for this case: " + ", ".join(reasons),
                errors=[FieldError("physician_id", reason) for reason in reasons],
            )
        row = {
            "id": uuid.uuid4(),
            "case_id": data.case_id,
            "physician": data.physician_id,
            "state": case.state,
            "line_of_business": case.line_of_business,
            "specialty": case.specialty,
            "review_type": case.review_type,
            "prior_reviewer_ids": [str(p) for p in data.prior_reviewer_ids],
            "status": "open",
            "evidence": {
                **evidence_of(reviewer, decision, as_of=now.date(), evaluated_at=now),
                "availability": {
                    "at": timing.at.isoformat(),
                    "due_at": timing.due_at.isoformat(),
                    "available_now": available.available_now,
                    "available_seconds_before_due": available.available_seconds,
                    "minimum_review_seconds": timing.min_review.total_seconds(),
                },
            },
            "due_at": timing.due_at,
            "urgency": data.urgency,
            "received_at": timing.received_at,
            "created_by": actor,
            "created_at": now,
            "closed_at": None,
        }
        await repository.insert(row)
        created = to_read({**row, "physician_id": data.physician_id})
        await audit.record(
            actor=actor, action="create", entity="assignment", entity_id=created.id, after=msgspec.to_builtins(created)
        )
    return created


async def close(assignment_id: UUID, data: AssignmentUpdate, *, actor: str) -> AssignmentRead:
    """Complete or cancel an open assignment, freeing the reviewer's capacity; a closed one stays closed."""
    async with write_tx(roster_change=False):
        row = await repository.get(assignment_id)
        if row is None:
            raise NotFound(f"no assignment {assignment_id}")
        current = to_read(row)
        if current.status != "open":
            raise Conflict(
                f"assignment is already {current.status}",
                errors=[FieldError("status", f"assignment is already {current.status}")],
            )
        changes = {"status": data.status, "closed_at": clock.now()}
        await repository.close(assignment_id, changes)
        updated = msgspec.structs.replace(current, **changes)
        await audit.record(
            actor=actor,
            action=data.status,
            entity="assignment",
            entity_id=assignment_id,
            before=msgspec.to_builtins(current),
            after=msgspec.to_builtins(updated),
        )
    return updated


async def open_for_physician(physician_id: UUID) -> list[AssignmentRead]:
    return [to_read(row) for row in await repository.open_for_physician(physician_id)]
