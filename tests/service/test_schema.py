"""The seeds' JSON Schemas are enforced exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from adapter.core.errors import InvalidRequest
from adapter.service.catalog import Catalog
from adapter.service.schema import SchemaError, compile_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "seeds"
SEED_FILES = {
    "kling-v2-6-motion-control": "000_46fb818f54a4d567.txt",
    "kling-v3": "001_f77c68a2abacd537.txt",
    "kling-v2-6": "002_b868e204a676dd28.txt",
    "wan2-6-i2v-flash": "003_02746fc8cfa7e644.txt",
}
MODELS = sorted(SEED_FILES)


def schema_of(model: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / "models" / f"{model}.json").read_text(encoding="utf-8"))


def valid_input(schema: dict[str, Any]) -> dict[str, Any]:
    """The smallest input the schema accepts: every required field with a legal value."""
    out: dict[str, Any] = {}
    for name in schema["required"]:
        prop = schema["properties"][name]
        if "enum" in prop:
            out[name] = prop["enum"][0]
        elif prop["type"] == "string":
            out[name] = "x" * max(1, prop.get("minLength", 1))
        elif prop["type"] == "array":
            out[name] = ["x"] * max(1, prop.get("minItems", 1))
        else:
            out[name] = prop.get("minimum", 1)
    return out


@pytest.mark.parametrize("model", sorted(SEED_FILES))
def test_schema_files_are_the_seed_pages_schemas_verbatim(model: str) -> None:
    """schemas/models/<slug>.json is exactly the JSON Schema printed on the seed page."""
    if not SEEDS.is_dir():
        pytest.skip("the seed pages live in ../shared (present in CI)")
    text = (SEEDS / SEED_FILES[model]).read_text(encoding="utf-8")
    # The schema is the page's object whose first key is "type": "object" (some pages indent).
    start = re.search(r'\{\s*"type": "object"', text)
    assert start is not None, "the seed page has no input schema"
    seed, _ = json.JSONDecoder().raw_decode(text[start.start() :])
    assert schema_of(model) == seed


@pytest.mark.parametrize("model", MODELS)
def test_defaults_are_applied(model: str) -> None:
    """Omitted optional fields with a default come back filled in."""
    schema = schema_of(model)
    checked = compile_schema(schema)(valid_input(schema), "input")
    for name, prop in schema["properties"].items():
        if "default" in prop and name not in schema["required"]:
            assert checked[name] == prop["default"]


def cases(model: str) -> list[tuple[str, dict[str, Any], str]]:
    """Inputs that break one rule each, with the param the error must name."""
    schema = schema_of(model)
    base = valid_input(schema)
    out = []
    for name in schema["required"]:
        broken = dict(base)
        del broken[name]
        out.append((f"missing {name}", broken, f"input.{name}"))
    for name, prop in schema["properties"].items():
        if "enum" in prop:
            out.append((f"bad enum {name}", {**base, name: "nope"}, f"input.{name}"))
        wrong: Any = 12345 if prop.get("type") == "string" else "a string"
        out.append((f"wrong type {name}", {**base, name: wrong}, f"input.{name}"))
        if prop.get("minLength"):
            out.append((f"too short {name}", {**base, name: ""}, f"input.{name}"))
        if prop.get("additionalProperties") is False:
            out.append((f"extra in {name}", {**base, name: {"x": 1}}, f"input.{name}.x"))
    if schema.get("additionalProperties") is False:
        out.append(("unknown field", {**base, "colour": "red"}, "input.colour"))
    return out


@pytest.mark.parametrize(
    ("model", "label", "values", "param"),
    [(m, *c) for m in MODELS for c in cases(m)],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_schema_rule_is_enforced_and_names_the_field(
    model: str, label: str, values: dict[str, Any], param: str
) -> None:
    """Each required field, enum, type, minLength and additionalProperties is checked."""
    spec = Catalog.load(SCHEMAS).get(model)
    with pytest.raises(InvalidRequest) as caught:
        spec.validate(values)
    assert caught.value.param == param, label


def test_watermark_info_enabled_must_be_a_boolean() -> None:
    """Nested objects are checked too: watermark_info.enabled is a boolean."""
    check = compile_schema(schema_of("kling-v2-6-motion-control"))
    base = valid_input(schema_of("kling-v2-6-motion-control"))
    with pytest.raises(InvalidRequest) as caught:
        check({**base, "watermark_info": {"enabled": "yes"}}, "input")
    assert caught.value.param == "input.watermark_info.enabled"
    assert check({**base, "watermark_info": {}}, "input")["watermark_info"] == {"enabled": False}


def test_a_keyword_the_validator_does_not_enforce_fails_compilation() -> None:
    """A schema rule can never be silently ignored: unknown keywords are refused."""
    with pytest.raises(SchemaError):
        compile_schema({"type": "string", "pattern": "^a"})


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer", "minimum": 2, "maximum": 15}, 5, 16),
        ({"type": "integer"}, 5.0, 5.5),
        ({"type": "integer"}, 3, True),
        ({"type": "string", "maxLength": 3}, "abc", "abcd"),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
            ["a"],
            ["a", "b", "c"],
        ),
        ({"type": "array", "items": {"type": "string"}}, ["a"], ["a", 1]),
        ({"enum": [1, 2]}, 1, True),
    ],
)
def test_scalar_and_array_keywords(schema: dict[str, Any], good: Any, bad: Any) -> None:
    """Bounds, lengths, item counts and integer-ness follow JSON Schema."""
    check = compile_schema(schema)
    check(good, "input.x")
    with pytest.raises(InvalidRequest):
        check(bad, "input.x")


def test_a_non_object_input_is_refused() -> None:
    """input must be an object."""
    with pytest.raises(InvalidRequest) as caught:
        Catalog.load(SCHEMAS).get("kling-v2-6-motion-control").validate(["a"])
    assert caught.value.param == "input"


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**34])
def test_an_integer_json_cannot_carry_exactly_is_refused_naming_the_field(value: int) -> None:
    """Whatever the schema's bounds (a partial one may have none): never a 500 downstream."""
    check = compile_schema({"type": "object", "properties": {"duration": {"type": "integer"}}})
    with pytest.raises(InvalidRequest) as refused:
        check({"duration": value}, "input")
    assert refused.value.param == "input.duration"
    assert check({"duration": 2**53 - 1}, "input") == {"duration": 2**53 - 1}
