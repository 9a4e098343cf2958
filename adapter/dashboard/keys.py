"""The keys pages: every key with its limits and budget; create (the secret shown once), edit,
disable, enable, delete. Each change goes through ``AdminKeys``, as the admin API's does."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from adapter.core.errors import InvalidRequest
from adapter.dashboard.access import Operator, posted, signed_in
from adapter.dashboard.forms import key_body, key_values
from adapter.dashboard.pages import model_options, render, see
from adapter.http.admin import shown


def _slugs(operator: Operator) -> list[str]:
    return [slug for slug, _ in model_options(operator)]


async def list_keys(request: Request) -> Response:
    operator = signed_in(request)
    keys = await shown(operator.services, await operator.services.admin.all())
    return render("keys.html", operator, page="keys", title="Keys", keys=keys)


async def new_key(request: Request) -> Response:
    operator = signed_in(request)
    return _new_form(operator, {"budget_period": "month", "mode": "live"}, None)


def _new_form(
    operator: Operator, values: Mapping[str, str], error: InvalidRequest | None
) -> Response:
    return render(
        "key_new.html",
        operator,
        status=200 if error is None else 422,
        page="keys",
        title="New key",
        values=values,
        error=error,
        slugs=_slugs(operator),
    )


async def create_key(request: Request) -> Response:
    """The new key's page, with its secret: in this answer only (never stored, never again)."""
    operator, form = await posted(request)
    try:
        key, secret = await operator.services.admin.create(key_body(form, new=True))
    except InvalidRequest as exc:
        return _new_form(operator, form, exc)
    (body,) = await shown(operator.services, [key])
    return render(
        "key_created.html",
        operator,
        status=201,
        page="keys",
        title="Key created",
        key=body,
        secret=secret,
    )


async def edit_key(request: Request) -> Response:
    operator = signed_in(request)
    key = await operator.services.admin.get(request.path_params["key_id"])
    return await _edit_form(operator, key.id, key_values(key), None)


async def _edit_form(
    operator: Operator, key_id: str, values: Mapping[str, str], error: InvalidRequest | None
) -> Response:
    key = await operator.services.admin.get(key_id)
    (body,) = await shown(operator.services, [key])
    return render(
        "key_edit.html",
        operator,
        status=200 if error is None else 422,
        page="keys",
        title=f"Key {key.name}",
        key=body,
        values=values,
        error=error,
        slugs=_slugs(operator),
    )


async def update_key(request: Request) -> Response:
    operator, form = await posted(request)
    key_id = request.path_params["key_id"]
    try:
        await operator.services.admin.update(key_id, key_body(form, new=False))
    except InvalidRequest as exc:
        return await _edit_form(operator, key_id, form, exc)
    return see("/keys")


async def disable_key(request: Request) -> Response:
    operator, _ = await posted(request)
    await operator.services.admin.set_enabled(request.path_params["key_id"], False)
    return see("/keys")


async def enable_key(request: Request) -> Response:
    operator, _ = await posted(request)
    await operator.services.admin.set_enabled(request.path_params["key_id"], True)
    return see("/keys")


async def confirm_delete(request: Request) -> Response:
    operator = signed_in(request)
    key = await operator.services.admin.get(request.path_params["key_id"])
    (body,) = await shown(operator.services, [key])
    return render("key_delete.html", operator, page="keys", title="Delete key", key=body)


async def delete_key(request: Request) -> Response:
    operator, _ = await posted(request)
    await operator.services.admin.delete(request.path_params["key_id"])
    return see("/keys")
