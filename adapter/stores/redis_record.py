"""How a task is kept in Redis: one string holding a header, its record and its events.

    <version> <open> <budget period> <reserved> <ledger model> <estimate> <doc length>\\n
    <doc><event><event>...

The header is what the scripts read and write (``-`` for a field not set): the version they
compare, and what the task holds of its key's limits until it ends (``redis_scripts``). The
doc is the ``TaskRecord``; each event is ``<length>:<blob>``. Doc and events are JSON,
compressed with a dictionary of what tasks and events have in common (codec byte ``z``), so
a finished task and its few events take a few hundred bytes. The scripts never look inside a
doc or an event: they replace the one and append to the other.

The codec and its dictionary are part of the stored format: a change is a new codec byte,
and the old one is kept for what is stored under it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

#: What stored tasks and events have in common, most common last (deflate looks back from
#: the end of its dictionary first). Never edit: docs compressed with it need it as it is.
_DICTIONARY = (
    b'"negative_prompt":"","image_url":"https://","image_tail_url":"","cfg_scale":0.5,'
    b'"camera_control":null,"resolution":"720p","seed":0,"size":"1280*720","audio_url":"",'
    b'"webhook_url":"https://","key_id":"key_","mode":"test","upstream_cost":"0.0",'
    b'{"type":"webhook","at":"2026-11-29T00:00:00.000000Z","attempt":1,"response_status":200,'
    b'"message":"","error":{"code":"upstream_error","message":""},"notices":[{"code":"",'
    b'"submit_state":"unknown","provider":"dashscope","upstream_route":"image2video",'
    b'"status":"failed","status":"cancelled","provider":"fal","provider":"replicate",'
    b'{"task_id":"task_","owner":"","model":"kling-v3","input":{"aspect_ratio":"16:9",'
    b'"audio":false,"duration":5,"mode":"std","multi_shot":false,"prompt":"",'
    b'"shot_type":"intelligence","watermark":false},"status":"queued","cost_estimate":"0.",'
    b'"created_at":"2026-11-29T00:00:00.000000Z","updated_at":"2026-11-29T00:00:00.000000Z",'
    b'"version":4,"cost_actual":"0.","videos":[{"url":"https://","duration":5.0}],'
    b'"provider":"kling","upstream_id":"","upstream_route":"text2video",'
    b'"submit_state":"accepted","admitted_by":"key_"}'
    b'{"type":"status","at":"2026-11-29T00:00:00.000000Z","status":"queued"}'
    b'{"type":"status","at":"2026-11-29T00:00:00.000000Z","status":"processing"}'
    b'{"type":"status","at":"2026-11-29T00:00:00.000000Z","status":"succeeded"}'
)
_CODEC = b"z"
#: Deflate's settings: a 4 KiB window (the dictionary fits in it) and small hash tables, the
#: most of the compression for a fifth of the time of zlib's defaults on a task.
_LEVEL, _WINDOW, _MEMORY = 6, -12, 2
#: A compressor primed with the dictionary, copied for each doc: a quarter cheaper than
#: priming a new one (5.1 against 3.8 µs for a queued task), the same bytes.
_DEFLATE = zlib.compressobj(
    _LEVEL, zlib.DEFLATED, _WINDOW, _MEMORY, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY
)


def pack(json: bytes) -> bytes:
    """A doc or event as stored: compressed with the dictionary, after the codec byte."""
    deflate = _DEFLATE.copy()
    return _CODEC + deflate.compress(json) + deflate.flush()


def unpack(blob: bytes) -> bytes:
    """The JSON of a stored doc or event."""
    if blob[:1] != _CODEC:
        raise ValueError(f"unknown codec {blob[:1]!r} in a stored task")
    inflate = zlib.decompressobj(_WINDOW, zdict=_DICTIONARY)
    return inflate.decompress(blob[1:]) + inflate.flush()


def doc_of(stored: bytes) -> bytes:
    """The JSON of a stored task's record."""
    head, _, rest = stored.partition(b"\n")
    return unpack(rest[: int(head.rsplit(b" ", 1)[1])])


def events_of(stored: bytes) -> Iterator[bytes]:
    """The JSON of a stored task's events, oldest first."""
    head, _, rest = stored.partition(b"\n")
    at = int(head.rsplit(b" ", 1)[1])
    while at < len(rest):
        colon = rest.index(b":", at)
        end = colon + 1 + int(rest[at:colon])
        yield unpack(rest[colon + 1 : end])
        at = end
