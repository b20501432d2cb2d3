"""The application factory: ``create_app(settings)`` wires routes, auth, errors and lifespans.

Nothing here touches the database at import time; the engine is opened in the lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

import roster
from roster.api.auth import ApiKeyMiddleware
from roster.api.problems import EXCEPTION_HANDLERS
from roster.audit.routes import AuditController
from roster.certifications.routes import CertificationController
from roster.compliance.facts import CompliancePolicy
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.health.routes import health
from roster.keys.routes import ApiKeyController
from roster.keys.service import KeyCache
from roster.licenses.routes import LicenseController
from roster.physicians.routes import PhysicianController

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        engine = await open_engine(settings)
        try:
            yield
        finally:
            await close_engine(engine)

    api = Router(
        path=API_PREFIX,
        route_handlers=[
            PhysicianController,
            LicenseController,
            CertificationController,
            AuditController,
            ApiKeyController,
        ],
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
        security=[{"bearer": []}],
    )
    return Litestar(
        route_handlers=[health, api],
        lifespan=[database],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State(
            {
                "settings": settings,
                "key_cache": KeyCache(settings.api_key_cache_seconds),
                "policy": CompliancePolicy(
                    required_sources=settings.required_sources,
                    screening_max_age_days=settings.screening_max_age_days,
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
