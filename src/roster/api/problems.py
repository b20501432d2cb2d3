"""RFC 9457 problem details for every error the API can return.

Litestar's own validation errors (400) become 422 problems that name the field; unexpected
exceptions become a 500 problem without internals (and are logged).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from roster.db.errors import as_conflict
from roster.errors import RosterError

log = logging.getLogger("roster.api")

PROBLEM_JSON = "application/problem+json"


class ProblemField(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[ProblemField] = []


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Problem]:
    return Response(content=problem, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


_KEY_IN_MESSAGE = re.compile(r"(?:at|in) `\$\.?([^`]*)`")


def _dotted(path: str) -> str:
    """``lines_of_business[0]`` -> ``lines_of_business.0``: one spelling for nested fields."""
    return path.replace("[", ".").replace("]", "").lstrip(".")


_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _field_of(item: dict[str, Any]) -> str:
    message = str(item.get("message", ""))
    key = item.get("key")
    unknown = _NAMED_FIELD.search(message)
    if unknown:
        at = _KEY_IN_MESSAGE.search(message)
        if at and at.group(1):
            prefix = _dotted(at.group(1)) + "."
        elif key and key != "data":
            prefix = _dotted(str(key)) + "."
        else:
            prefix = ""
        return prefix + unknown.group(1)
    if key and key != "data":
        return _dotted(str(key))
    match = _KEY_IN_MESSAGE.search(message)
    if match and match.group(1):
        return _dotted(match.group(1))
    return "body"


def _validation_problem(exc: ValidationException) -> Problem:
    fields: list[ProblemField] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            message = _KEY_IN_MESSAGE.sub("", message).strip().rstrip("-").strip() or "invalid value"
            fields.append(ProblemField(field=_field_of(item), message=message))
    if not fields:
        missing = _MISSING_PARAMETER.search(str(exc.detail))
        if missing:
            fields.append(ProblemField(field=missing.group(1), message="is required"))
        else:
            fields.append(ProblemField(field="body", message=str(exc.detail)))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return Problem(
        type="https://roster.dev/problems/invalid-input",
        title="Invalid input",
        status=422,
        detail=detail,
        errors=fields,
    )


def on_validation_error(_: Request, exc: ValidationException) -> Response[Problem]:
    return problem_response(_validation_problem(exc))


def on_roster_error(_: Request, exc: RosterError) -> Response[Problem]:
    return problem_response(
        Problem(
            type=exc.type,
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            errors=[ProblemField(field=e.field, message=e.message) for e in exc.errors],
        )
    )


def on_http_error(_: Request, exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    # Litestar's own 413 (a JSON body over the app's limit) names the body, as ours name the file.
    errors = [ProblemField(field="body", message="larger than this endpoint accepts")] if status == 413 else []
    return problem_response(
        Problem(
            type="about:blank", title=_TITLES.get(status, "Error"), status=status, detail=str(exc.detail), errors=errors
        ),
        headers=exc.headers,
    )


def on_unexpected_error(request: Request, exc: Exception) -> Response[Problem]:
    conflict = as_conflict(exc)
    if conflict is not None:
        return on_roster_error(request, conflict)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        Problem(
            type="about:blank",
            title="Internal error",
            status=HTTP_500_INTERNAL_SERVER_ERROR,
            detail="The server failed to handle this request; it has been logged.",
        )
    )


EXCEPTION_HANDLERS = {
    ValidationException: on_validation_error,
    RosterError: on_roster_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem statuses a route can return (400 and 422 always)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_TITLES.get(status, "Error"),
            generate_examples=False,
        )
        for status in sorted({400, 422, *statuses})
    }
