"""``/fhir``: a read-only FHIR R4 view of the roster for partner systems (``application/fhir+json``).

Mounted beside ``/api/v1``, authenticated with the same API keys; every role may read it, as every
role may read physicians and their compliance. Unknown search parameters are refused (400) rather
than ignored, so a partner never mistakes an unfiltered answer for a filtered one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, Router, get, route
from litestar.enums import HttpMethod
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath, QueryParameter

import roster
from roster.api.auth import READ_ROSTER, ApiKeyMiddleware
from roster.api.query import check_request
from roster.errors import NotFound
from roster.fhir import service
from roster.fhir.outcome import EXCEPTION_HANDLERS, FHIR_JSON, outcomes
from roster.fhir.resources import capability_statement

FHIR_PREFIX = "/fhir"

FhirResource = dict[str, Any]
Count = Annotated[int, QueryParameter(name="_count", ge=1, le=500, description="Practitioners per page (1-500).")]
PageCursor = Annotated[str | None, QueryParameter(name="_cursor", description="From the Bundle's `next` link.")]
Ids = Annotated[
    str | None,
    QueryParameter(name="_id", max_length=4000, description="Comma-separated Practitioner ids (any of them)."),
]
Identifiers = Annotated[
    str | None,
    QueryParameter(
        name="identifier",
        max_length=4000,
        description="Comma-separated tokens `http://hl7.org/fhir/sid/us-npi|<NPI>` or `<NPI>` (any of them).",
    ),
]
RevInclude = Annotated[
    Literal["VerificationResult:target"] | None,
    QueryParameter(name="_revinclude", description="Accepted for clarity: VerificationResults are always included."),
]
Format = Annotated[
    Literal["json", "application/json", "application/fhir+json"] | None,
    QueryParameter(name="_format", description="Only JSON is served."),
]


class PractitionerController(Controller):
    path = "/Practitioner"
    tags = ["fhir"]

    @get(
        "/",
        opt=READ_ROSTER,
        media_type=FHIR_JSON,
        responses=outcomes(401, 403),
        summary="Search Practitioners: a searchset Bundle with their VerificationResults included",
    )
    async def search_practitioner(
        self,
        request: Request[Any, Any, Any],
        count: Count = 50,
        cursor: PageCursor = None,
        ids: Ids = None,
        identifier: Identifiers = None,
        revinclude: RevInclude = None,
        format_: Format = None,
    ) -> Response[FhirResource]:
        bundle = await service.search_practitioners(
            base=_base(request),
            ids=_alternatives(ids),
            identifiers=_alternatives(identifier),
            count=count,
            cursor=cursor,
            policy=request.app.state["policy"],
        )
        return Response(bundle, media_type=FHIR_JSON)

    @get(
        "/{practitioner_id:str}",
        opt=READ_ROSTER,
        media_type=FHIR_JSON,
        responses=outcomes(401, 403, 404),
        summary="Read one Practitioner (its VerificationResults: search with `_id`)",
    )
    async def read_practitioner(self, practitioner_id: FromPath[str], format_: Format = None) -> Response[FhirResource]:
        return Response(await service.read_practitioner(practitioner_id), media_type=FHIR_JSON)


@get(
    "/metadata",
    media_type=FHIR_JSON,
    responses=outcomes(),
    summary="The server's CapabilityStatement (no API key needed)",
    tags=["fhir"],
)
async def fhir_metadata(request: Request[Any, Any, Any], format_: Format = None) -> Response[FhirResource]:
    return Response(capability_statement(_base(request), roster.__version__), media_type=FHIR_JSON)


@route(
    "/{rest:path}",
    http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE],
    opt=READ_ROSTER,
    include_in_schema=False,
)
async def fhir_not_served(rest: FromPath[str]) -> None:
    """Anything else under /fhir is an OperationOutcome 404 too, not the API's problem+json."""
    raise NotFound(f"{rest.lstrip('/')} is not served here: this server has Practitioner only")


def _alternatives(value: str | None) -> list[str] | None:
    """A FHIR search value: comma-separated alternatives (blank ones dropped)."""
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/") + FHIR_PREFIX


def fhir_router() -> Router:
    """``/fhir``: the CapabilityStatement is public (FHIR clients read it before they authenticate)."""
    secured = Router(
        path="/",
        route_handlers=[PractitionerController, fhir_not_served],
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
        security=[{"bearer": []}],
    )
    return Router(
        path=FHIR_PREFIX,
        route_handlers=[fhir_metadata, secured],
        before_request=check_request,
        exception_handlers=EXCEPTION_HANDLERS,
    )
