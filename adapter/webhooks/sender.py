"""``HttpWebhookSender``: the ``WebhookSender`` port, under the media URLs' rule.

A webhook URL must be https:// with no credentials, to a host whose every address is public,
unless its host is allow-listed (``MVA_WEBHOOK_ALLOW_HOSTS``: local receivers, plain http
allowed). The address is checked when the task is submitted and again before every attempt,
since DNS may change in the hours a delivery can take, and the client should connect through
a ``PublicAddressResolver`` so that it cannot change between that check and the connection.
Redirects are not followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import httpx

from adapter.core.errors import InvalidRequest, MediaUnreachable, WebhookUndeliverable
from adapter.outbound.addresses import AddressGuard, Resolver, system_resolve
from adapter.outbound.failures import describe, refused_address
from adapter.outbound.urls import Target, UrlPolicy

#: The variable that exempts receivers from the address rule, named in refusals.
ALLOW_SETTING = "MVA_WEBHOOK_ALLOW_HOSTS"


class HttpWebhookSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allow_hosts: frozenset[str] = frozenset(),
        resolve: Resolver = system_resolve,
        timeout_s: float = 10.0,
    ) -> None:
        self._http = http
        self._policy = UrlPolicy(
            allow_hosts, {}, allow_setting=ALLOW_SETTING, accepted="an https:// URL"
        )
        self._guard = AddressGuard(resolve, allow_setting=ALLOW_SETTING)
        self._timeout_s = timeout_s

    async def check(self, url: str, *, param: str) -> None:
        await self._target(url, param=param)

    async def _target(self, url: str, *, param: str) -> Target:
        if len(url) > 2048:
            raise InvalidRequest(f"{param} is longer than 2048 characters.", param)
        target = self._policy.admit(url, param=param)
        if not target.trusted:
            await self._guard.check(
                target.url.raw_host.decode("ascii"), param=param, what="points to"
            )
        return target

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            # One attempt, the address check included, never takes more than ``timeout_s``
            # in all: the client's timeouts are per phase, and a receiver may trickle bytes.
            async with asyncio.timeout(self._timeout_s):
                return await self._attempt(url, body, headers)
        except TimeoutError:
            raise WebhookUndeliverable(
                f"timeout: the server did not answer within {self._timeout_s:g} s"
            ) from None

    async def _attempt(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            target = await self._target(url, param="webhook_url")
        except (InvalidRequest, MediaUnreachable) as exc:
            raise WebhookUndeliverable(exc.message) from None
        try:
            # Explicit, whatever the client's default: a redirect target skips the address check.
            # Only the status matters: the receiver's body is never read.
            async with self._http.stream(
                "POST",
                target.url,
                content=body,
                headers=dict(headers),
                timeout=self._timeout_s,
                follow_redirects=False,
            ) as response:
                return response.status_code
        except (httpx.HTTPError, aiohttp.ClientError) as exc:
            refused = refused_address(exc)
            if refused is not None:  # non-public by the time of connecting: DNS rebinding
                reason = self._guard.refusal("webhook_url", str(refused)).message
            else:
                reason = describe(exc, timeout_s=self._timeout_s)
            raise WebhookUndeliverable(reason) from None
