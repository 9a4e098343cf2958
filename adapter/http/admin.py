"""The admin API (``/admin/v1``): thin endpoints over ``AdminKeys``, behind ``MVA_ADMIN_TOKEN``.

With no token set the whole surface answers 404, as a route that does not exist. A client key
is never an admin credential (403), and a wrong token is a 401.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapter.core.errors import (
    AdminApiOff,
    AdminTokenRequired,
    InvalidAdminToken,
    InvalidRequest,
    MissingAdminToken,
)
from adapter.core.values import ApiKey
from adapter.http.endpoints import json_body, page_limit
from adapter.http.request_id import request_id_of
from adapter.http.responses import MsgspecResponse
from adapter.http.services import Services
from adapter.http.wire import (
    KeyBody,
    KeyCreatedBody,
    KeyListBody,
    UsageRowsBody,
    key_body,
    task_list_body,
)
from adapter.service.admin import MAX_PAGE
from adapter.service.keys import PREFIXES
from adapter.service.usage import UsageRow, csv_text


def _admin(request: Request) -> Services:
    """The services, once the request carries the admin token."""
    services: Services = request.app.state.services
    token = services.admin_token
    if token is None:
        raise AdminApiOff("Not Found")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise MissingAdminToken(
            "Send the admin token as 'Authorization: Bearer <MVA_ADMIN_TOKEN>'."
        )
    if given.startswith(PREFIXES):
        raise AdminTokenRequired("Client API keys are not accepted here: use MVA_ADMIN_TOKEN.")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise InvalidAdminToken("The admin token is not valid.")
    return services


async def shown(services: Services, keys: list[ApiKey]) -> list[KeyBody]:
    """The key objects of ``keys``, with when each was last used and its budget as it stands."""
    used = await services.admin.last_used(keys)
    spends = await asyncio.gather(*(services.admin.spend(key) for key in keys))
    return [key_body(key, used.get(key.id), spend) for key, spend in zip(keys, spends, strict=True)]


async def _shown(services: Services, key: ApiKey) -> KeyBody:
    return (await shown(services, [key]))[0]


async def create_key(request: Request) -> Response:
    services = _admin(request)
    key, secret = await services.admin.create(await json_body(request))
    return MsgspecResponse(KeyCreatedBody(await _shown(services, key), secret), status_code=201)


async def list_keys(request: Request) -> Response:
    services = _admin(request)
    raw_limit = request.query_params.get("limit") or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}.", "limit")
    keys, cursor = await services.admin.page(
        limit=int(raw_limit), cursor=request.query_params.get("cursor")
    )
    return MsgspecResponse(KeyListBody(await shown(services, keys), cursor))


async def usage_rows(services: Services, query: Mapping[str, str]) -> list[UsageRow]:
    """The usage rows a query asks for: ``key_id``, ``model``, ``from``, ``to``, ``group_by``."""
    key_id = query.get("key_id")
    if key_id:
        await services.admin.get(key_id)  # an unknown id is a 404, not an empty answer
    return await services.admin.usage(
        [key_id] if key_id else None,
        since=query.get("from") or None,
        until=query.get("to") or None,
        model=query.get("model") or None,
        group_by=query.get("group_by") or None,
        upstream=True,
    )


async def usage(request: Request) -> Response:
    """Usage rows; CSV with ``Accept: text/csv``."""
    services = _admin(request)
    rows = await usage_rows(services, request.query_params)
    if "text/csv" in request.headers.get("accept", ""):
        return PlainTextResponse(csv_text(rows), media_type="text/csv")
    return MsgspecResponse(UsageRowsBody(rows))


async def list_tasks(request: Request) -> Response:
    """Every owner's tasks, newest first: ``key_id``, ``model``, ``status``, ``since``,
    ``until``, ``limit``, ``cursor``."""
    services = _admin(request)
    query = request.query_params
    page = await services.tasks.list_every_task(
        key_id=query.get("key_id") or None,
        model=query.get("model") or None,
        status=query.get("status") or None,
        limit=page_limit(query.get("limit")),
        cursor=query.get("cursor") or None,
        since=query.get("since") or None,
        until=query.get("until") or None,
    )
    return MsgspecResponse(
        task_list_body(page.records, page.next_cursor, request_id_of(request.scope))
    )


async def get_key(request: Request) -> Response:
    services = _admin(request)
    key = await services.admin.get(request.path_params["key_id"])
    return MsgspecResponse(await _shown(services, key))


async def update_key(request: Request) -> Response:
    services = _admin(request)
    key = await services.admin.update(request.path_params["key_id"], await json_body(request))
    return MsgspecResponse(await _shown(services, key))


async def delete_key(request: Request) -> Response:
    await _admin(request).admin.delete(request.path_params["key_id"])
    return Response(status_code=204)


async def disable_key(request: Request) -> Response:
    return await _set_enabled(request, False)


async def enable_key(request: Request) -> Response:
    return await _set_enabled(request, True)


async def _set_enabled(request: Request, enabled: bool) -> Response:
    services = _admin(request)
    key = await services.admin.set_enabled(request.path_params["key_id"], enabled)
    return MsgspecResponse(await _shown(services, key))
