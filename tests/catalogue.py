"""MindVideo's public video catalogue as its pages show it: each slug's example cost, and its
curl example's input (``schemas/examples/<slug>.curl.sh``), for tests that check every model."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from tests.conftest import SCHEMAS

#: Slug -> the ``cost_estimate`` of its page's example (``reference/catalogue/README.md``).
PAGE_COSTS: dict[str, Decimal] = {
    slug: Decimal(cost)
    for slug, cost in {
        "kling-v2-6-motion-control": "0.06426",
        "kling-v2-6": "0.0414",
        "kling-v3": "0.0756",
        "wan2-6-i2v-flash": "0.0315",
        "kling-v3-motion-control": "0.11574",
        "kling-v3-omni": "0.0756",
        "kling-video-o1": "0.0756",
        "viduq3": "0.45",
        "viduq3-pro": "0.675",
        "viduq3-turbo": "0.27",
        "veo3-1-fast": "0.09",
        "veo3-1-fast-official": "0.09",
        "veo3-1-quality": "0.675",
        "veo3-1-quality-official": "0.18",
        "wan2-5-preview": "0.3735",
        "wan2-7-r2v": "0.6165",
        "wan2-7-videoedit": "0.1233",
        "happyhorse-1-0": "0.25875",
        "doubao-seedance-1-0-pro-fast": "0.234",
        "doubao-seedance-1-0-pro-quality": "0.585",
        "doubao-seedance-1-5-pro": "0.2475",
        "doubao-seedance-2-0-fast": "0.0657",
        "minimax-hailuo-02": "0.225",
        "minimax-hailuo-2-3": "0.3294",
    }.items()
}
#: The catalogue's video slug no upstream this adapter speaks carries.
UNCARRIED = ("skyreels-v4-fast",)
#: The catalogue's image models: out of scope.
IMAGE_MODELS = (
    "wan2-7-image",
    "apimart-doubao-seedance-4-0",
    "gemini-3-1-flash-image-preview",
    "gemini-2-5-flash-image-preview-official",
    "gemini-3-pro-image-preview-official",
    "gpt-image-2",
    "qwen-image-2-0-pro",
    "doubao-seedream-5-0-lite",
)
#: The models new in issue 11: every page example not served before it.
NEW = tuple(list(PAGE_COSTS)[7:])


def example_input(slug: str) -> dict[str, Any]:
    """The ``input`` of the page's curl example, as the curl sends it."""
    text = (SCHEMAS / "examples" / f"{slug}.curl.sh").read_text(encoding="utf-8")
    match = re.search(r"-d '(.*)'", text, re.DOTALL)
    assert match, f"{slug}: no -d '...' body in its example"
    body: dict[str, Any] = json.loads(match.group(1))
    assert body["model"] == slug
    return dict(body["input"])
