"""Reject query parameters a route does not declare.

A router that misspells a filter (``?speciality=``) must not silently get an unfiltered answer:
unknown parameters are a 422 that names them.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.params import KwargDefinition, ParameterKwarg

from roster.api.characters import reject_nul
from roster.errors import FieldError, InvalidInput

_RESERVED = {"request", "data", "state", "headers", "cookies", "query", "scope", "socket", "body"}
_CACHE_KEY = "roster_query_names"


def _query_names(request: Request[Any, Any, Any]) -> frozenset[str]:
    handler = request.route_handler
    names: frozenset[str] | None = handler.opt.get(_CACHE_KEY)
    if names is None:
        path_params = set(request.path_params)
        found = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            if name in _RESERVED or name in path_params:
                continue
            kwarg = field.kwarg_definition
            if isinstance(kwarg, ParameterKwarg):
                if kwarg.param_type is ParamType.QUERY:
                    found.add(kwarg.name or name)
            elif not isinstance(kwarg, KwargDefinition):
                found.add(name)
        names = handler.opt[_CACHE_KEY] = frozenset(found)
    return names


async def reject_unknown_query(request: Request[Any, Any, Any]) -> None:
    if not request.scope["query_string"]:  # most requests: nothing to parse
        return
    unknown = sorted(set(request.query_params) - _query_names(request))
    if unknown:
        raise InvalidInput(
            detail="unknown query parameter(s): " + ", ".join(unknown),
            errors=[FieldError(name, "unknown query parameter") for name in unknown],
        )


async def check_request(request: Request[Any, Any, Any]) -> None:
    """What every API request must pass before its handler: only declared query parameters, no NUL."""
    await reject_unknown_query(request)
    await reject_nul(request)
