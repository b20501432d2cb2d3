"""Errors on ``/fhir`` paths as FHIR ``OperationOutcome`` resources (``application/fhir+json``).

A FHIR client parses OperationOutcome, not RFC 9457: same statuses as the rest of the API except
that bad search parameters are 400, as the FHIR RESTful API specifies for a search it cannot run.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from roster.errors import RosterError

log = logging.getLogger("roster.fhir")

FHIR_JSON = "application/fhir+json"

#: HTTP status -> OperationOutcome.issue.code (http://hl7.org/fhir/issue-type).
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    422: "invalid",
    429: "throttled",
}
_DESCRIPTIONS = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 500: "Internal error"}


def outcome(status: int, diagnostics: str, expressions: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": "error" if status < 500 else "fatal",
        "code": _ISSUE_CODES.get(status, "exception"),
        "diagnostics": diagnostics,
    }
    if expressions:
        issue["expression"] = expressions
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _issues(status: int, problems: list[tuple[str | None, str]], detail: str) -> dict[str, Any]:
    """One issue per named field, so a client sees every bad parameter at once."""
    if not problems:
        return outcome(status, detail)
    issues = [outcome(status, message, [field] if field else None)["issue"][0] for field, message in problems]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _parameter_name(request: Request[Any, Any, Any], key: Any) -> str | None:
    """Litestar names the handler's argument (``count``); a FHIR client knows the parameter (``_count``)."""
    if not key:
        return None
    field = request.route_handler.parsed_fn_signature.parameters.get(str(key))
    alias = getattr(field.kwarg_definition, "name", None) if field is not None else None
    return alias or str(key)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            problems.append((_parameter_name(request, item.get("key")), str(item.get("message", "invalid value"))))
    return _response(400, _issues(400, problems, str(exc.detail)))


def _roster(_: Request[Any, Any, Any], exc: RosterError) -> Response[Any]:
    status = 400 if exc.status == 422 else exc.status
    return _response(status, _issues(status, [(e.field, e.message) for e in exc.errors], exc.detail))


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _response(exc.status_code, outcome(exc.status_code, str(exc.detail)), exc.headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, outcome(500, "The server failed to handle this request; it has been logged."))


EXCEPTION_HANDLERS = {
    ValidationException: _validation,
    RosterError: _roster,
    HTTPException: _http,
    Exception: _unexpected,
}


def outcomes(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the OperationOutcome statuses a FHIR route can return (400 always)."""
    return {
        status: ResponseSpec(
            data_container=dict[str, Any],
            media_type=FHIR_JSON,
            description=_DESCRIPTIONS.get(status, "Error") + " (OperationOutcome)",
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }
