"""The adapter's error tree. Only ``adapter.http.errors`` turns these into HTTP statuses.

::

    AdapterError
    ├── InvalidJson                       # the body is not JSON
    ├── UnsupportedMediaType              # the body is declared as something else (a form)
    ├── PayloadTooLarge                   # the body is over the limit
    ├── InvalidRequest(message, param)    # the input breaks the contract
    │   ├── UnknownModel(model)
    │   │   └── ModelNotServed            # known, but no provider is configured for it
    │   └── MediaUnreachable              # a media URL could not be read
    ├── ModelNotFound(model)              # GET of a model not served here
    ├── MissingApiKey / InvalidApiKey / ApiKeyDisabled
    ├── TaskNotFound(task_id)
    ├── TaskNotCancellable(task_id)       # cancel of a task that has ended
    ├── IdempotencyKeyReused              # same key, other request
    ├── IdempotencyInProgress(retry_after)
    ├── StoreUnavailable                  # Redis could not be reached
    ├── InvalidCallbackToken              # an upstream callback without our token
    ├── WebhookUndeliverable              # a webhook POST got no answer
    └── ProviderError(provider, message, status, code)
        ├── ProviderUnavailable           # not accepted: connect failure, 502/503, upstream auth
        │   ├── ProviderRateLimited(retry_after)
        │   │   └── CircuitOpen           # skipped: too many unavailable answers in a row
        │   ├── ProviderAuthFailed        # our credentials for it were refused
        │   └── ProviderBadAnswer         # a 2xx that is not the API (a web page): wrong route
        ├── ProviderRejected              # a definite "no" to this request (4xx)
        │   └── ProviderTaskNotFound      # "no task with that id" to a query or lookup
        └── ProviderOutcomeUnknown        # sent, no definite answer (timeout, reset, 504)
    AllProvidersFailed(errors)            # every candidate provider was unavailable

Foreign exceptions (httpx, redis) are translated into these once, at the adapter boundary.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every error the adapter raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidJson(AdapterError):
    """The request body is not valid JSON."""


class UnsupportedMediaType(AdapterError):
    """The request body's ``Content-Type`` is not JSON (a form, multipart, text)."""


class PayloadTooLarge(AdapterError):
    """The request body is larger than the configured limit."""


class InvalidRequest(AdapterError):
    """The request breaks the input contract."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        #: The field at fault, as ``input.mode``; ``None`` when no single field is.
        self.param = param


class UnknownModel(InvalidRequest):
    """The requested model slug is not served."""

    def __init__(self, model: str, message: str | None = None) -> None:
        super().__init__(message or f"Unknown model {model!r}.", "model")
        self.model = model


class ModelNotServed(UnknownModel):
    """A MindVideo model this adapter knows, but no configured provider makes."""

    def __init__(self, model: str, *, no_simulator: bool = False) -> None:
        super().__init__(
            model,
            f"Model {model!r} is not served to test keys here: they go to the built-in "
            "simulator only, and this process runs none (start it with `mindvideo-adapter "
            "serve`, or set MVA_SIMULATOR_URL)."
            if no_simulator
            else f"Model {model!r} has no provider on this adapter; configure one that serves "
            "it (README, 'Providers').",
        )


class ModelNotFound(AdapterError):
    """``GET /api/v1/models/{slug}`` of a model this adapter does not serve."""

    def __init__(self, model: str, why: str | None = None) -> None:
        """``why``: the reason a catalogue model is not served, when this adapter knows one."""
        listed = "GET /api/v1/models lists the served ones."
        said = why or f"No model {model!r} is served here;"
        super().__init__(f"{said} {listed}")
        self.model = model


class MediaUnreachable(InvalidRequest):
    """A media URL could not be read (network error, HTTP error, no range support)."""


class MissingApiKey(AdapterError):
    """No ``Authorization: Bearer`` header."""


class InvalidApiKey(AdapterError):
    """The key is not known (never issued, or deleted)."""


class ApiKeyDisabled(AdapterError):
    """The key exists but was disabled."""


class ApiKeyExpired(AdapterError):
    """The key's ``expires_at`` has passed."""


class ModelNotAllowed(AdapterError):
    """The key may submit only the models its ``models`` list names."""


class IpNotAllowed(AdapterError):
    """The client's address is outside the key's ``allowed_ips``."""


class RateLimited(AdapterError):
    """The key's submits a minute (``rpm``) are used up."""

    def __init__(self, message: str, *, retry_after: int, limit: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class BudgetExceeded(AdapterError):
    """The task's estimate does not fit in what remains of the key's budget."""


class ConcurrencyLimitReached(AdapterError):
    """The key has ``max_concurrent`` unfinished tasks already."""


class KeyNotFound(AdapterError):
    """No API key with this id (admin API)."""


class MissingAdminToken(AdapterError):
    """An admin request without ``Authorization: Bearer <MVA_ADMIN_TOKEN>``."""


class InvalidAdminToken(AdapterError):
    """An admin request with a wrong token."""


class AdminTokenRequired(AdapterError):
    """An admin request made with a client API key: never accepted there."""


class AdminApiOff(AdapterError):
    """The admin API is off (``MVA_ADMIN_TOKEN`` unset): it answers as a missing route."""


class TaskNotFound(AdapterError):
    """No task with this id belongs to the caller."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"No task {task_id!r}.")
        self.task_id = task_id


class TaskNotCancellable(AdapterError):
    """The task has already ended; only a queued or processing task can be cancelled."""

    def __init__(self, task_id: str, status: str) -> None:
        super().__init__(f"Task {task_id!r} is already {status}; it cannot be cancelled.")
        self.task_id = task_id


class IdempotencyKeyReused(AdapterError):
    """The Idempotency-Key was already used with a different request."""


class IdempotencyInProgress(AdapterError):
    """The first request with this Idempotency-Key is still being submitted."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidCallbackToken(AdapterError):
    """An upstream callback's token does not match its provider and task."""


class WebhookUndeliverable(AdapterError):
    """A webhook POST got no HTTP answer (refused address, connection error, timeout)."""


class StoreUnavailable(AdapterError):
    """The task store (Redis) could not be reached or answered with an error.

    ``task_id`` is set when the store went away in the middle of a submit, after the task had
    its id: the task may exist (and may have reached the upstream), so the client is told
    which one, and a retry with the same Idempotency-Key finds it.
    """

    def __init__(self, message: str, *, task_id: str | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id


class ProviderError(AdapterError):
    """An upstream provider did not do what was asked."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The provider's configured name.
        self.provider = provider
        #: The upstream's HTTP status, when it answered.
        self.status = status
        #: The upstream's own error code, when it sent one.
        self.code = code


class ProviderUnavailable(ProviderError):
    """The upstream did not accept the request and nothing was created: safe to try elsewhere."""


class ProviderRateLimited(ProviderUnavailable):
    """The upstream refused for load or quota reasons (429)."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(provider, message, status=status, code=code)
        #: Seconds to wait, when the upstream said.
        self.retry_after = retry_after


class CircuitOpen(ProviderRateLimited):
    """Not tried: the provider answered "unavailable" too often in a row for this model, and
    its cool-down has not passed (or another process is probing it)."""


class ProviderAuthFailed(ProviderUnavailable):
    """The upstream refused our credentials (Kling 1000-1004, HTTP 401, ``InvalidApiKey``)."""


class ProviderBadAnswer(ProviderUnavailable):
    """The upstream answered 2xx with something that is not its API (a web page, plain text).

    Nothing was made there (new-api answers routes it lacks with its web UI), so another
    provider may take the task; the message names the route, which is likely missing or
    misconfigured.
    """


class ProviderRejected(ProviderError):
    """The upstream definitely refused this request (bad input, content policy, not found)."""


class ProviderTaskNotFound(ProviderRejected):
    """The upstream says it has no task with the id it was asked about.

    From ``query``: the accepted task is gone there. From ``lookup``: it has none under our
    id, but it knows tasks only by its own ids, so it cannot rule out that it made one
    (a ``None`` from ``lookup`` is the certain "never got it").
    """


class ProviderOutcomeUnknown(ProviderError):
    """The request may or may not have been acted on (timeout or reset after sending, 504)."""


class AllProvidersFailed(AdapterError):
    """Every provider that serves the model was unavailable or rate-limited."""

    def __init__(self, errors: list[ProviderError]) -> None:
        reasons = "; ".join(f"{e.provider}: {e.message}" for e in errors)
        super().__init__(f"No provider could take the task ({reasons}).")
        self.errors = errors
