"""The simulated upstreams' settings."""

from __future__ import annotations

import msgspec


class SimulatorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How the simulated upstreams authenticate and how fast their tasks move.

    Attributes:
        api_key: the gateway dialect's Bearer token (``/kling/v1/...``, ``/v1/video/...``).
        access_key: the official dialect's JWT issuer (``iss``).
        secret_key: the official dialect's HS256 signing secret.
        dashscope_api_key: the DashScope dialect's Bearer token (``/api/v1/...`` only).
        fal_api_key: the fal queue's ``Key`` (``/fal/...`` only).
        replicate_api_token: Replicate's Bearer token (``/replicate/...`` only).
        queue_s: seconds a task stays ``submitted``.
        process_s: seconds a task then stays ``processing`` before it ends.
        public_url: base URL of the output video links; empty means the request's own base URL.
        require_auth: ``False`` accepts any (or no) ``Authorization`` header.
        max_tasks: tasks kept in memory per upstream (Kling, DashScope, fal,
            Replicate); the oldest are
            dropped beyond it.
    """

    api_key: str = "sim-key"
    access_key: str = "sim-ak"
    secret_key: str = "sim-sk"
    dashscope_api_key: str = "sim-dashscope-key"
    fal_api_key: str = "sim-fal-key"
    replicate_api_token: str = "sim-replicate-token"
    queue_s: float = 0.5
    process_s: float = 1.5
    public_url: str = ""
    require_auth: bool = True
    max_tasks: int = 100_000

    def __post_init__(self) -> None:
        if self.queue_s < 0 or self.process_s < 0:
            raise ValueError("queue_s and process_s must be >= 0")
        if self.max_tasks < 1:
            raise ValueError("max_tasks must be >= 1")
