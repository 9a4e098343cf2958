"""What an upstream's answer to a harmless question says about it, for every dialect; and
which models a provider is set up to serve.

``mindvideo-adapter providers check`` asks each provider for the status of a task that cannot
exist. The answer tells whether the upstream is reachable, takes our credentials and speaks
the dialect it is configured as: "no such task" in its own words is the healthy answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Collection, Mapping

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderBadAnswer,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import Carrier, ProviderCheck, UpstreamState


def probe_id() -> str:
    """A task id no upstream has issued."""
    return f"mva-check-{secrets.token_hex(8)}"


async def check_answer(ask: Awaitable[UpstreamState]) -> ProviderCheck:
    """Run ``ask`` (a query of a task that cannot exist) and read what its answer shows."""
    try:
        await ask
    except ProviderTaskNotFound as exc:
        said = exc.code or f"HTTP {exc.status}"
        return ProviderCheck(True, True, True, f"answered that it has no such task ({said})")
    except ProviderAuthFailed as exc:
        return ProviderCheck(True, False, True, exc.message)
    except ProviderBadAnswer as exc:
        return ProviderCheck(True, None, False, exc.message)
    except ProviderRateLimited as exc:
        return ProviderCheck(True, True, True, exc.message, ("it is rate-limiting us right now",))
    except ProviderRejected as exc:
        if exc.code is not None:
            # A refusal in the dialect's own terms: it read our request and our credentials.
            return ProviderCheck(True, True, True, f"answered {exc.code}: {exc.message}")
        return ProviderCheck(
            True, None, False, f"answered HTTP {exc.status} with no error of its dialect"
        )
    except (ProviderUnavailable, ProviderOutcomeUnknown) as exc:
        if exc.status is None:
            return ProviderCheck(False, None, None, exc.message)
        if 200 <= exc.status < 300:
            return ProviderCheck(True, None, False, f"{exc.message} (HTTP {exc.status})")
        return ProviderCheck(True, None, None, exc.message)
    return ProviderCheck(True, True, True, "answered with a task status")


def served_models(
    upstream: str, carried: Mapping[str, Carrier], models: Collection[str] | None
) -> frozenset[str]:
    """The models a provider of ``upstream`` serves: ``models``, or every one the catalogue
    says its API carries when ``None``; ``ValueError`` for one it cannot make."""
    served = frozenset(carried if models is None else models)
    if unknown := served - carried.keys():
        raise ValueError(f"{upstream} cannot make {sorted(unknown)}; it makes {sorted(carried)}")
    return served
