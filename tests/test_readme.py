"""The README matches the code: every setting, error code and simulator marker is documented."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pytest

from adapter.cli.serve import SIMULATOR_GRACE_S
from adapter.core.shutdown import GRACE_S, STEP_TIMEOUT_S, STOP_BOUND_S
from adapter.http.errors import STATUS_CODES
from adapter.simulator.dashscope import DASHSCOPE_MARKERS
from adapter.simulator.fal import FAL_MARKERS
from adapter.simulator.replicate import REPLICATE_MARKERS
from adapter.simulator.script import MARKERS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_read_from_the_environment_is_in_the_settings_table() -> None:
    """A variable the code reads but the README omits (or the reverse) fails here."""
    source = "".join(
        (ROOT / "adapter" / "config" / name).read_text(encoding="utf-8")
        for name in ("settings.py", "providers.py")
    )
    read = set(
        re.findall(
            r'"((?:MVA|KLING|DASHSCOPE|NEWAPI)_[A-Z_]+|(?:FAL|REPLICATE)_[A-Z_]+|REDIS_URL)"',
            source,
        )
    )
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(
        re.findall(
            r"`((?:MVA|KLING|DASHSCOPE|NEWAPI)_[A-Z_]+|(?:FAL|REPLICATE)_[A-Z_]+|REDIS_URL)`", table
        )
    )
    assert read == documented


def test_every_error_code_is_in_the_errors_table() -> None:
    """Each code the API can answer is explained."""
    table = README.split("## Errors", 1)[1].split("\n## ", 1)[0]
    for _, status, code in STATUS_CODES:
        rows = [row for row in table.splitlines() if f"`{code}`" in row]
        assert any(str(status) in row.split("|")[1] for row in rows), (code, status)


@pytest.mark.parametrize(
    "markers",
    [MARKERS, DASHSCOPE_MARKERS, FAL_MARKERS, REPLICATE_MARKERS],
    ids=["kling", "dashscope", "fal", "replicate"],
)
def test_the_simulator_markers_tables_are_the_codes_tables(markers: Mapping[str, str]) -> None:
    """Markers are documented exactly as the simulator understands them, per dialect."""
    rows = [f"| `{marker}` | {effect} |" for marker, effect in markers.items()]
    assert "\n".join(rows) in README


@pytest.mark.parametrize(
    "model", ["kling-v2-6-motion-control", "kling-v3", "kling-v2-6", "wan2-6-i2v-flash"]
)
def test_the_seed_curl_examples_in_the_readme_match_the_ones_the_suite_runs(model: str) -> None:
    """The walk-through's curls are the seeds', with only host and key changed."""
    seed = (
        (ROOT / "schemas" / "examples" / f"{model}.curl.sh")
        .read_text(encoding="utf-8")
        .split("\n", 1)[1]
        .strip()
    )
    adapted = seed.replace("https://api.mindvideo.ai", "$MV").replace("mv_live_xxx", "$KEY")
    assert adapted in README


def test_the_spec_file_example_is_a_valid_spec() -> None:
    """The README's annotated spec file parses as the catalogue reads spec files."""
    from adapter.service.catalog import SpecFile

    block = README.split("**A model is one spec: two files.**", 1)[1]
    toml = block.split("```toml\n", 1)[1].split("```", 1)[0]
    spec = msgspec.toml.decode(toml.encode(), type=SpecFile)
    assert spec.upstream[0].mapping == "kling-v3"
    assert spec.pricing.rule().rates


def test_the_stop_bounds_in_the_readme_are_the_ones_the_code_keeps() -> None:
    """The grace, each step's limit and the whole stop's bound, as the Stopping section says."""
    section = " ".join(README.split("## Stopping", 1)[1].split("\n## ", 1)[0].split())
    assert f"gives open requests {GRACE_S} seconds" in section
    assert f"each step in at most {STEP_TIMEOUT_S:g} seconds" in section
    assert f"giving its own open requests {SIMULATOR_GRACE_S} second" in section
    assert f"still running {STOP_BOUND_S:g} seconds after the signal exits at once" in section
    assert f"a stop takes at most {STOP_BOUND_S:g} seconds" in section
    streams = " ".join(README.split("## Live events", 1)[1].split("\n## ", 1)[0].split())
    assert f"A stopping server gives open streams {GRACE_S} seconds" in streams


def test_the_models_table_is_the_catalogue() -> None:
    """Every served model is a row with its hosts in preference order, its schema source and
    its page's example cost; none is missing, none extra."""
    from tests.catalogue import PAGE_COSTS
    from tests.models import CATALOG

    hosts = {
        "kling": "Kling",
        "dashscope": "DashScope",
        "newapi": "new-api",
        "fal": "fal",
        "replicate": "Replicate",
    }
    table = README.split("## The models\n", 1)[1].split("\n\n| model |", 1)[1].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in row.split("|")[1:-1]] for row in table.splitlines()[2:]]
    assert [row[0].strip("`") for row in rows] == list(PAGE_COSTS)
    for slug, _family, _what, row_hosts, source, cost in rows:
        spec = CATALOG.get(slug.strip("`"))
        named = ", ".join(f"{hosts[api]} `{c.model_name}`" for api, c in spec.carriers.items())
        assert (row_hosts, source) == (named, spec.schema_source), slug
        assert cost.split(" ", 1)[0] == str(PAGE_COSTS[spec.slug]), slug


def test_the_dashboard_section_shows_every_screenshot_and_no_missing_one() -> None:
    """The screenshots the browser tests write to docs/dashboard are the ones shown."""
    section = README.split("## Dashboard", 1)[1].split("\n## ", 1)[0]
    shown = set(re.findall(r"\]\(docs/dashboard/([\w-]+\.png)\)", section))
    assert shown == {path.name for path in (ROOT / "docs" / "dashboard").glob("*.png")}
    assert {"login.png", "keys.png", "key-created.png", "tasks.png", "task.png"} <= shown
