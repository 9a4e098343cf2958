"""``HttpMediaInspector``: the ``MediaInspector`` port, checking media by URL or data URI."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.core.values import ImageInfo, VideoInfo
from adapter.media.datauri import decode_data_uri, image_format, is_data_uri
from adapter.media.httpfile import HttpFile
from adapter.media.isobmff import ContainerError
from adapter.media.limits import IMAGE_MAX_BYTES, VIDEO_MAX_BYTES
from adapter.media.probe import ByteSource, BytesSource, Container, probe_container
from adapter.outbound.addresses import UNFETCHED_LOOKUP_S, AddressGuard, Resolver, system_resolve
from adapter.outbound.urls import UrlPolicy
from adapter.ports import IMAGE_FORMATS

_FORMAT_NAMES = {"jpg": "JPEG"}
#: The variable that exempts media hosts from the address rule, named in refusals.
ALLOW_SETTING = "MVA_MEDIA_ALLOW_HOSTS"
_URL_ONLY = "an https:// URL"
#: Data URIs longer than this are decoded on a worker thread, off the event loop.
_INLINE_DECODE_CHARS = 1024 * 1024


class HttpMediaInspector:
    """Checks input media against the upstream's limits (Kling motion control).

    Every URL is held to one rule: https:// (or an allow-listed or rewritten host), no
    credentials, and a host that is, or resolves to, only public addresses.
    Images: jpg/png up to 10 MB; a URL is handed on unfetched (its host is still resolved,
    but a lookup that fails here is no refusal: the upstream resolves it), a data URI is
    decoded. Videos: mp4/mov up to 100 MB; the container header is probed for the duration,
    by a few HTTP Range requests for URLs (never the whole file), in memory for data URIs.

    Args:
        http: the client to fetch with; redirects are followed here, not by the client.
        allow_hosts: hosts exempt from the public-address rule, and allowed over plain http.
        rewrites: host -> base URL; such URLs are fetched from the base, path and query kept.
        resolve: ``host -> addresses``, for the SSRF check (default: ``getaddrinfo``); the
            client should connect through a ``PublicAddressResolver`` over the same.
        timeout: seconds one video probe may take in all (resolving, redirects, ranges).
        max_requests: range requests one video probe may make.
        max_unranged: bytes read from a server that ignores Range before giving up.
        unfetched_lookup_s: how long the lookup of a URL handed on unfetched is waited for.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allow_hosts: frozenset[str] = frozenset(),
        rewrites: Mapping[str, str] | None = None,
        resolve: Resolver = system_resolve,
        timeout: float = 10.0,
        max_requests: int = 8,
        max_unranged: int = 8 * 1024 * 1024,
        unfetched_lookup_s: float = UNFETCHED_LOOKUP_S,
    ) -> None:
        self._http = http
        self._policy = UrlPolicy(allow_hosts, rewrites or {}, allow_setting=ALLOW_SETTING)
        self._url_policy = UrlPolicy(
            allow_hosts, rewrites or {}, allow_setting=ALLOW_SETTING, accepted=_URL_ONLY
        )
        self._guard = AddressGuard(
            resolve, allow_setting=ALLOW_SETTING, unfetched_lookup_s=unfetched_lookup_s
        )
        self._timeout = timeout
        self._max_requests = max_requests
        self._max_unranged = max_unranged

    async def inspect_image(
        self, value: str, *, param: str, formats: frozenset[str] = IMAGE_FORMATS
    ) -> ImageInfo:
        """Check an image: a data URI of ``formats`` up to 10 MB, or a URL (not fetched)."""
        if is_data_uri(value):
            data = await _decoded(value, param=param, max_bytes=IMAGE_MAX_BYTES, kind="image")
            found = image_format(data)
            if found not in formats:
                what = f"a {found.upper()} image" if found else "not a recognised image"
                names = ", ".join(_FORMAT_NAMES.get(f, f.upper()) for f in sorted(formats))
                raise InvalidRequest(f"{param} is {what}; accepted here: {names}.", param)
            return ImageInfo(source="data", format=found, size_bytes=len(data))
        await self._unfetched(self._policy, value, param=param)
        return ImageInfo(source="url")

    async def check_url(self, value: str, *, param: str) -> None:
        """Check a URL handed on unfetched where no data URI is taken (``audio_url``)."""
        await self._unfetched(self._url_policy, value, param=param)

    async def _unfetched(self, policy: UrlPolicy, value: str, *, param: str) -> None:
        url, trusted = policy.admit(value, param=param)
        if not trusted:
            host = url.raw_host.decode("ascii")
            await self._guard.check(host, param=param, what="points to", fetched=False)

    async def inspect_video(self, value: str, *, param: str) -> VideoInfo:
        """Check an mp4/mov video of at most 100 MB and read its duration."""
        if is_data_uri(value):
            data = await _decoded(value, param=param, max_bytes=VIDEO_MAX_BYTES, kind="video")
            found = await _probe(BytesSource(data), param=param)
            return VideoInfo("data", found.format, found.duration_s, size_bytes=len(data))
        target = self._policy.admit(value, param=param)
        file = HttpFile(
            self._http,
            target,
            policy=self._policy,
            guard=self._guard,
            param=param,
            max_size=VIDEO_MAX_BYTES,
            max_requests=self._max_requests,
            max_unranged=self._max_unranged,
        )
        try:
            async with asyncio.timeout(self._timeout), file:
                found = await _probe(file, param=param)
        except TimeoutError as exc:
            raise MediaUnreachable(
                f"{param} could not be read: timeout: no answer within {self._timeout:g} s.",
                param,
            ) from exc
        return VideoInfo("url", found.format, found.duration_s, size_bytes=file.size)


async def _probe(source: ByteSource, *, param: str) -> Container:
    try:
        return await probe_container(source)
    except ContainerError as exc:
        raise InvalidRequest(f"{param}: the video {exc}.", param) from exc


async def _decoded(value: str, *, param: str, max_bytes: int, kind: str) -> bytes:
    # Decoding 100 MB of base64 takes long enough to stall every other request.
    if len(value) <= _INLINE_DECODE_CHARS:
        return decode_data_uri(value, param=param, max_bytes=max_bytes, kind=kind)
    return await asyncio.to_thread(
        decode_data_uri, value, param=param, max_bytes=max_bytes, kind=kind
    )
