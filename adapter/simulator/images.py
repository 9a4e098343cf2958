"""Small but fully decodable PNG and JPEG files of a chosen size: flat mid-grey.

Both stay tiny at any size (the PNG compresses to almost nothing, the JPEG spends two bits per
8x8 block), so the simulator can serve images large enough for Kling's 300 px minimum.
"""

from __future__ import annotations

import struct
import zlib


def build_png(width: int, height: int) -> bytes:
    """An 8-bit greyscale PNG of ``width`` x ``height`` pixels."""
    rows = (b"\x00" + b"\x80" * width) * height  # filter type 0 per row, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def build_jpeg(width: int, height: int) -> bytes:
    """A baseline greyscale JPEG of ``width`` x ``height`` pixels.

    Every block has a zero DC difference and no AC terms. The Huffman tables hold one
    one-bit code each, so a block costs two bits: ``0`` (DC category 0) and ``0`` (EOB).
    """
    blocks = -(-width // 8) * -(-height // 8)
    bits = 2 * blocks
    padding = -bits % 8
    scan = bytes((bits + padding) // 8 - 1) + bytes([(1 << padding) - 1]) if bits else b""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # counts per code length, then the one symbol
    return (
        b"\xff\xd8"
        + _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
        + _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + _jpeg_segment(0xC4, b"\x00" + one_code)
        + _jpeg_segment(0xC4, b"\x10" + one_code)
        + _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, 2 + len(payload)) + payload
