"""``redis_record``: a task's doc and events as one string, each compressed with the dictionary."""

from __future__ import annotations

import pytest

from adapter.stores.redis_record import doc_of, events_of, pack, unpack


@pytest.mark.parametrize(
    "json",
    [
        b"{}",
        b'{"prompt":"\xe7\x8c\xab \\n \xf0\x9f\x8e\xac"}',
        b'{"prompt":"' + b"x" * 20_000 + b'"}',
    ],
)
def test_a_packed_json_unpacks_to_the_same_bytes(json: bytes) -> None:
    assert unpack(pack(json)) == json


def test_a_blob_of_an_unknown_codec_is_named_not_guessed() -> None:
    with pytest.raises(ValueError, match="unknown codec"):
        unpack(b'j{"task_id":"t"}')


def test_the_doc_and_the_events_are_read_back_from_the_header_s_length() -> None:
    """The layout the scripts write: header, newline, doc, then <length>:<blob> per event."""
    doc, events = pack(b'{"task_id":"t"}'), [pack(b'{"n":1}'), pack(b":\n" * 40)]
    stored = b"3 1 - - kling-v3 7560 %d\n" % len(doc) + doc
    stored += b"".join(b"%d:%s" % (len(event), event) for event in events)
    assert doc_of(stored) == b'{"task_id":"t"}'
    assert list(events_of(stored)) == [b'{"n":1}', b":\n" * 40]


def test_a_doc_packs_to_the_same_bytes_whatever_was_packed_before() -> None:
    """Each doc starts from the primed dictionary alone: nothing of an earlier doc leaks in."""
    doc = b'{"task_id":"task_1","model":"kling-v3","status":"queued"}'
    first = pack(doc)
    pack(b'{"task_id":"task_2","prompt":"' + b"y" * 5_000 + b'"}')
    assert pack(doc) == first
    assert len(first) < len(doc)  # and the dictionary does its work
