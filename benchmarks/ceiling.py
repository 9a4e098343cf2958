"""The ceiling prototype: the least a MindVideo-compatible adapter can do, with our libraries.

Starlette on uvicorn (uvloop, httptools, as ``serve`` runs), msgspec, redis-py (asyncio, hiredis)
and httpx over the aiohttp transport, and nothing else: no auth, no schema, no pricing, no
events, no indexes, no TTL on the task, no retries.

* ``POST /api/v1/tasks``: parse the JSON body; ``SET NX`` the ``Idempotency-Key`` (when sent;
  a key seen before answers its task); one upstream POST (a Kling gateway's
  ``/kling/v1/videos/text2video``, bearer ``--upstream-key``); one ``HSET``; answer the task.
* ``GET /api/v1/tasks/{id}``: one ``HGETALL``; answer the task.

``benchmarks/compare.py`` runs it beside the adapter; it is also runnable alone:
``python benchmarks/ceiling.py --port P --redis-url URL --upstream URL [--namespace NS]``.
Its keys are ``<NS>:task:<id>`` (hash) and ``<NS>:idem:<key>`` (string, 24 h).
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import httpx_aiohttp
import msgspec
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

IDEMPOTENCY_TTL_S = 86_400


class Submit(msgspec.Struct):
    model: str
    input: dict[str, Any]


class Upstream(msgspec.Struct):
    """What is read of a Kling gateway's submit answer."""

    class Data(msgspec.Struct):
        task_id: str

    code: int
    data: Data | None = None


_decode_submit = msgspec.json.Decoder(Submit).decode
_decode_upstream = msgspec.json.Decoder(Upstream).decode
_encode = msgspec.json.Encoder().encode


def _json(body: object, status: int = 200) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _body(fields: dict[str, str]) -> dict[str, object]:
    """The MindVideo task body of a stored hash."""
    return {
        "task_id": fields["task_id"],
        "model": fields["model"],
        "status": fields["status"],
        "output": None,
        "error": None,
        "created_at": fields["created_at"],
        "updated_at": fields["created_at"],
        "mode": "live",
    }


class Ceiling:
    def __init__(self, redis_url: str, upstream: str, upstream_key: str, namespace: str) -> None:
        self.redis_url = redis_url
        self.submit_url = f"{upstream.rstrip('/')}/kling/v1/videos/text2video"
        self.upstream_headers = {
            "Authorization": f"Bearer {upstream_key}",
            "Content-Type": "application/json",
        }
        self.ns = namespace
        self.db: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
        self.http = httpx.AsyncClient(
            transport=httpx_aiohttp.AiohttpTransport(limits=limits),
            timeout=httpx.Timeout(30.0, connect=5.0),
        )

    @asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.http.aclose()
            await self.db.aclose()

    async def submit(self, request: Request) -> Response:
        try:
            order = _decode_submit(await request.body())
        except msgspec.ValidationError as e:
            return _error(400, "invalid_request", str(e))
        task_id = f"task_{secrets.token_hex(12)}"
        idem = request.headers.get("idempotency-key")
        if idem is not None:
            key = f"{self.ns}:idem:{idem}"
            if not await self.db.set(key, task_id, nx=True, ex=IDEMPOTENCY_TTL_S):
                return await self._replay(await self.db.get(key))
        upstream = {
            "model_name": order.model,
            "prompt": order.input.get("prompt", ""),
            "duration": str(order.input.get("duration", 5)),
            "aspect_ratio": order.input.get("aspect_ratio", "16:9"),
            "mode": order.input.get("mode", "std"),
            "external_task_id": task_id,
        }
        answer = await self.http.post(
            self.submit_url, content=_encode(upstream), headers=self.upstream_headers
        )
        made = _decode_upstream(answer.content) if answer.status_code == 200 else None
        if made is None or made.code != 0 or made.data is None:
            return _error(502, "upstream_error", f"upstream answered HTTP {answer.status_code}")
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fields = {
            "task_id": task_id,
            "model": order.model,
            "status": "queued",
            "upstream_id": made.data.task_id,
            "created_at": now,
        }
        await self.db.hset(f"{self.ns}:task:{task_id}", mapping=fields)
        return _json(_body(fields))

    async def _replay(self, task_id: str | None) -> Response:
        fields = await self.db.hgetall(f"{self.ns}:task:{task_id}") if task_id else {}
        if not fields:  # its first request is still submitting, or failed
            return _error(409, "idempotency_conflict", "this Idempotency-Key is in use")
        return _json(_body(fields))

    async def get(self, request: Request) -> Response:
        fields = await self.db.hgetall(f"{self.ns}:task:{request.path_params['task_id']}")
        if not fields:
            return _error(404, "task_not_found", "no such task")
        return _json(_body(fields))

    def app(self) -> Starlette:
        async def healthz(_: Request) -> Response:
            return Response("ok")

        return Starlette(
            routes=[
                Route("/api/v1/tasks", self.submit, methods=["POST"]),
                Route("/api/v1/tasks/{task_id}", self.get, methods=["GET"]),
                Route("/healthz", healthz, methods=["GET"]),
            ],
            lifespan=self.lifespan,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--upstream", required=True, help="a Kling gateway's base URL")
    parser.add_argument("--upstream-key", default="sim-key")
    parser.add_argument("--namespace", default="mvaceiling")
    args = parser.parse_args()
    ceiling = Ceiling(args.redis_url, args.upstream, args.upstream_key, args.namespace)
    config = uvicorn.Config(
        ceiling.app(),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
