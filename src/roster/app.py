"""The application factory: ``create_app(settings)`` wires routes, auth, errors and lifespans.

Nothing here touches the database at import time; the engine is opened in the lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

import roster
from roster.alerts.routes import AlertController
from roster.api.auth import ApiKeyMiddleware
from roster.api.options import allowed_methods, options_allow_middleware
from roster.api.problems import EXCEPTION_HANDLERS
from roster.api.query import check_request
from roster.assignments.routes import AssignmentController
from roster.audit.routes import AuditController
from roster.audits.routes import AuditFilesController
from roster.certifications.routes import CertificationController
from roster.compliance.facts import CompliancePolicy
from roster.config import Settings
from roster.coverage.routes import CoverageController
from roster.credentialing.routes import CONTROLLERS as CREDENTIALING_CONTROLLERS
from roster.db import close_engine, open_engine
from roster.exports.routes import ExportController
from roster.fhir.routes import fhir_router
from roster.health.routes import health, ready
from roster.imports.routes import ImportController
from roster.keys.routes import ApiKeyController
from roster.keys.service import KeyCache
from roster.licenses.routes import LicenseController
from roster.matching.routes import MatchController
from roster.matching.service import keep_index, roster_cache
from roster.physicians.routes import PhysicianController
from roster.reports.routes import ReportController
from roster.schedules.routes import CONTROLLERS as SCHEDULE_CONTROLLERS
from roster.scheduling.routes import JobController
from roster.scheduling.schedule import triggers
from roster.screening.routes import ScreeningController
from roster.sources import egress
from roster.sources.preclusion import layout_with
from roster.web.page import static_router
from roster.web.routes import template_config, workspace_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, http_transport: httpx.AsyncBaseTransport | None = None) -> Litestar:
    """``http_transport`` replaces the network for outbound HTTP (tests pass ``httpx.MockTransport``)."""
    settings = settings or Settings.from_env()
    layout_with(settings.preclusion_columns)  # a wrong layout fails at start-up, not at the first upload
    triggers(settings)  # so does a bad job schedule

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        engine = await open_engine(settings)
        try:
            yield
        finally:
            await close_engine(engine)

    @asynccontextmanager
    async def http_client(app: Litestar) -> AsyncIterator[None]:
        """One outbound client, shared by every request; list hosts go through the vetting transport."""
        async with egress.http_client(settings, http_transport) as client:
            app.state["http"] = client
            yield

    @asynccontextmanager
    async def background_jobs(app: Litestar) -> AsyncIterator[None]:
        """Manual job runs outlive their request; on shutdown they are cancelled (and recorded so)
        while the database is still open."""
        tasks: set[asyncio.Task[Any]] = set()
        app.state["job_tasks"] = tasks
        try:
            yield
        finally:
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @asynccontextmanager
    async def roster_index(app: Litestar) -> AsyncIterator[None]:
        """The matcher's index built in the background from start-up and kept current (``keep_index``);
        ``/ready`` says when it is built. Stopped before the database closes."""
        keeper = (
            asyncio.create_task(keep_index(roster_cache(app.state), settings.index_poll_seconds))
            if settings.warm_index
            else None
        )
        try:
            yield
        finally:
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            cache = app.state.get("roster_cache")
            if cache is not None:
                cache.close()

    key_cache = KeyCache(settings.api_key_cache_seconds)
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            PhysicianController,
            LicenseController,
            CertificationController,
            AuditController,
            ApiKeyController,
            ScreeningController,
            ImportController,
            ExportController,
            JobController,
            ReportController,
            AlertController,
            MatchController,
            AssignmentController,
            CoverageController,
            *SCHEDULE_CONTROLLERS,
            *CREDENTIALING_CONTROLLERS,
            AuditFilesController,
        ],
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
        before_request=check_request,
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[health, ready, api, fhir_router(), workspace_router(), static_router()],
        lifespan=[database, http_client, background_jobs, roster_index, key_cache.lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[options_allow_middleware],
        template_config=template_config(),  # the workspace's pages
        # JSON bodies; the upload routes lift it and bound their files with the per-endpoint limits.
        request_max_body_size=settings.max_json_body_bytes,
        state=State(
            {
                "settings": settings,
                "key_cache": key_cache,
                "policy": CompliancePolicy(
                    required_sources=settings.required_sources,
                    screening_max_age_days=settings.screening_max_age_days,
                    require_policy_attestation=settings.require_policy_attestation,
                ),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="Roster",
            version=roster.__version__,
            description="Compliance and case routing for utilization-management physician reviewers.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="API key")}
            ),
        ),
        debug=settings.debug,
    )
    _declare_closed_bodies(app)
    app.state["allowed_methods"] = allowed_methods(app)
    return app


def _strict_structs(base: type[msgspec.Struct] = msgspec.Struct) -> Iterator[type[msgspec.Struct]]:
    for cls in base.__subclasses__():
        if cls.__struct_config__.forbid_unknown_fields:
            yield cls
        yield from _strict_structs(cls)


def _declare_closed_bodies(app: Litestar) -> None:
    """Request bodies reject unknown fields (422 naming the field); say so in the OpenAPI schema."""
    schemas = app.openapi_schema.components.schemas or {}
    for cls in _strict_structs():
        component = schemas.get(cls.__name__)
        if component is not None:
            component.additional_properties = False
