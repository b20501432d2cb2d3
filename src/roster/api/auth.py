"""Bearer API-key authentication and role guards (the contract's 401/403 behaviour)."""

from __future__ import annotations

from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from roster.keys import service as keys
from roster.keys.schemas import Principal, Role

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="roster"'}


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing bearer API key", headers=_CHALLENGE)
        principal = await keys.authenticate(token.strip(), connection.app.state.get("key_cache"))
        if principal is None:
            raise NotAuthorizedException("unknown or revoked API key", headers=_CHALLENGE)
        return AuthenticationResult(user=principal, auth=principal.key_id)


Guard = Callable[[ASGIConnection, BaseRouteHandler], None]

ALL_ROLES = frozenset(Role)


def allow(*roles: Role) -> Guard:
    """Guard admitting the given roles; ``admin`` may do everything."""
    allowed = frozenset(roles) | {Role.admin}

    # A coroutine: Litestar hands a plain function guard to a worker thread on every request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise PermissionDeniedException(
                f"role {principal.role.value!r} may not do this; needs one of "
                + ", ".join(sorted(r.value for r in allowed))
            )

    return guard


READ_ROSTER = allow(*ALL_ROLES)
WRITE_ROSTER = allow(Role.credentialing)
READ_AUDIT = allow(Role.auditor, Role.manager)
READ_SCREENING = allow(Role.credentialing, Role.manager, Role.auditor)
ADMIN_ONLY = allow(Role.admin)
