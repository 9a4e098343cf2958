"""Input fields a mapping does not place: sent on as they are, under the upstream's own names.

A partial schema (``schema_source = "partial"``) lets through fields the page has beyond
what is known here; each mapping names the fields it places, and the rest go where its
upstream takes free-form options (DashScope's ``parameters``, new-api's ``metadata``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def unmapped(values: Mapping[str, Any], placed: Collection[str]) -> dict[str, Any]:
    """The fields of ``values`` not in ``placed`` and not null, in input order."""
    return {key: value for key, value in values.items() if key not in placed and value is not None}


def present(**fields: Any) -> dict[str, Any]:
    """``fields`` without the ones that are ``None``: an option left unset is not sent."""
    return {key: value for key, value in fields.items() if value is not None}
