"""The key form, to and from the admin API's JSON body: ``AdminKeys`` checks what the form
sends exactly as it checks the API's, so a bad field reads the same in both."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from adapter.core.values import ApiKey

#: What ``<input type="datetime-local">`` sends: a UTC time, as the form says.
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def key_body(form: Mapping[str, str], *, new: bool) -> dict[str, Any]:
    """The JSON body of the create form (``new``: a blank field is left out) or of the edit
    form (a blank field clears: no limit, every model, no expiry, no budget)."""
    body: dict[str, Any] = {}
    if new:
        body.update(
            {name: value for name in ("name", "owner", "mode") if (value := _text(form, name))}
        )
    fields = {
        "models": _models(_text(form, "models")),
        "expires_at": _expiry(_text(form, "expires_at")),
        "rpm": _whole(_text(form, "rpm")),
        "max_concurrent": _whole(_text(form, "max_concurrent")),
        "budget": _budget(_text(form, "budget_amount"), _text(form, "budget_period")),
    }
    body.update({name: value for name, value in fields.items() if value is not None or not new})
    return body


def key_values(key: ApiKey) -> dict[str, str]:
    """The edit form's fields as ``key`` stands."""
    expires = key.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if key.expires_at else ""
    return {
        "models": ", ".join(key.models or ()),
        "expires_at": expires,
        "rpm": "" if key.rpm is None else str(key.rpm),
        "max_concurrent": "" if key.max_concurrent is None else str(key.max_concurrent),
        "budget_amount": "" if key.budget is None else f"{key.budget.amount:f}",
        "budget_period": "month" if key.budget is None else key.budget.period,
    }


def _text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").strip()


def _models(text: str) -> list[str] | None:
    return [slug for slug in re.split(r"[\s,]+", text) if slug] or None


def _expiry(text: str) -> str | None:
    if not text:
        return None
    if _LOCAL_TIME.fullmatch(text):
        return f"{text}Z" if text.count(":") == 2 else f"{text}:00Z"
    return text  # as typed: AdminKeys says what is wrong with it


def _whole(text: str) -> int | str | None:
    if not text:
        return None
    return int(text) if text.isdigit() else text


def _budget(amount: str, period: str) -> dict[str, str] | None:
    return {"amount": amount, "period": period or "month"} if amount else None
