"""A model whose input has a sibling's shape is two files and no code: its schema, and a spec
naming the sibling's mapping, its upstream model name and its prices. Added in a folder of the
test's own (``MVA_SCHEMAS_DIR``) and run through the live server and the simulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

from tests.e2e.live import ROOT, clean_env, serve, wait_terminal

KEY = "mv_test_model_from_files"
SPEC = """
title = "Kling V2.5 Turbo (a test's own)"
schema_source = "derived"
source = "kling-v2-6's schema, for a test"

[media]
images = ["image_url", "image_urls"]

[pricing]
rate_by = ["mode"]
seconds = "input:duration"
[pricing.rates]
std = "0.007"
pro = "0.012"

[[upstream]]
api = "kling"
mapping = "kling-v2-6"
model_name = "{model_name}"
"""


def add_model(schemas: Path, slug: str, model_name: str) -> None:
    schema = json.loads((schemas / "models" / "kling-v2-6.json").read_text(encoding="utf-8"))
    schema["$comment"] = "A test's own model: kling-v2-6's schema."
    (schemas / "models" / f"{slug}.json").write_text(json.dumps(schema), encoding="utf-8")
    spec = SPEC.replace("{model_name}", model_name)
    (schemas / "models" / f"{slug}.toml").write_text(spec, encoding="utf-8")


def test_a_sibling_model_from_two_files_runs_end_to_end(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    add_model(schemas, "kling-v2-5-turbo", "kling-v2-5-turbo")
    # A model_name the upstream does not know: its refusal shows the name really went there.
    add_model(schemas, "kling-v9-test", "kling-v9-test")
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY, MVA_SCHEMAS_DIR=str(schemas)))
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            model = c.get("/api/v1/models/kling-v2-5-turbo").json()
            assert model["schema_source"] == "derived"
            assert model["pricing"]["rates"][0] == {"when": {"mode": "std"}, "per_second": 0.007}
            body = {"model": "kling-v2-5-turbo", "input": {"prompt": "a fox", "duration": 10}}
            task = c.post("/api/v1/tasks", json=body).json()
            assert task["cost_estimate"] == 0.07
            assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
            refused = c.post(
                "/api/v1/tasks", json={"model": "kling-v9-test", "input": {"prompt": "x"}}
            )
        assert refused.status_code == 422
        assert "kling-v9-test" in refused.json()["error"]["message"]
    finally:
        live.stop()
