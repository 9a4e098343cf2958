"""``data:`` URIs: decoding the base64 payload, and telling image formats by their bytes."""

from __future__ import annotations

import base64

from adapter.core.errors import InvalidRequest
from adapter.media.limits import too_large

_FORM = "data:<type>;base64,<payload>"
#: Magic numbers of the image formats people try to send, for a message that names them.
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


def is_data_uri(value: str) -> bool:
    """Whether ``value`` is meant as a data URI (the scheme is case-insensitive)."""
    return value[:5].lower() == "data:"


def decode_data_uri(value: str, *, param: str, max_bytes: int, kind: str) -> bytes:
    """The decoded payload of a base64 ``data:`` URI of at most ``max_bytes``.

    ``kind`` ("image", "video") words the messages.
    """
    head, comma, payload = value.partition(",")
    if not comma:
        raise InvalidRequest(f"{param} is not a valid data URI; expected {_FORM}.", param)
    if head.lower().split(";")[-1] != "base64":
        raise InvalidRequest(
            f"{param} is a data URI without base64 encoding; expected {_FORM}.", param
        )
    # Some encoders wrap base64 at 76 columns; line breaks carry no data.
    payload = "".join(payload.split())
    # Refuse before decoding: 4 base64 characters carry 3 bytes.
    if len(payload) // 4 * 3 > max_bytes + 2:
        raise InvalidRequest(too_large(param, kind, len(payload) // 4 * 3, max_bytes), param)
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise InvalidRequest(
            f"{param} has a data URI whose payload is not valid base64.", param
        ) from exc
    if not data:
        raise InvalidRequest(f"{param} is a data URI with an empty payload.", param)
    if len(data) > max_bytes:
        raise InvalidRequest(too_large(param, kind, len(data), max_bytes), param)
    return data


def image_format(data: bytes) -> str | None:
    """``"jpg"``, ``"png"`` (or another known image format) from the magic bytes; else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((name for magic, name in _IMAGE_MAGIC if data.startswith(magic)), None)
