"""Bearer API-key authentication and role checks (the contract's 401/403 behaviour)."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from roster.keys import service as keys
from roster.keys.schemas import Role

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="roster"'}


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    """Authenticates the bearer key, then admits the roles the route names in its ``opt`` (see ``allow``).

    Roles are checked here rather than in route guards: Litestar hands every guard its own copy of the
    route handler, on every request, which cost more than the check on the hottest routes. A route
    that names no roles admits nobody, so a new route is closed until it says who may call it.
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing bearer API key", headers=_CHALLENGE)
        principal = await keys.authenticate(token.strip(), connection.app.state.get("key_cache"))
        if principal is None:
            raise NotAuthorizedException("unknown or revoked API key", headers=_CHALLENGE)
        allowed: frozenset[Role] = connection.route_handler.opt.get(ROLES, frozenset())
        if principal.role not in allowed:
            raise PermissionDeniedException(
                f"role {principal.role.value!r} may not do this; needs one of "
                + ", ".join(sorted(r.value for r in allowed))
            )
        return AuthenticationResult(user=principal, auth=principal.key_id)


#: The route ``opt`` key naming the roles a route admits.
ROLES = "roles"
ALL_ROLES = frozenset(Role)


def allow(*roles: Role) -> dict[str, frozenset[Role]]:
    """Route options admitting the given roles (``@get(..., opt=allow(Role.manager))``); ``admin`` may do
    everything."""
    return {ROLES: frozenset(roles) | {Role.admin}}


READ_ROSTER = allow(*ALL_ROLES)
WRITE_ROSTER = allow(Role.credentialing)
READ_AUDIT = allow(Role.auditor, Role.manager)
READ_SCREENING = allow(Role.credentialing, Role.manager, Role.auditor)
ADMIN_ONLY = allow(Role.admin)
