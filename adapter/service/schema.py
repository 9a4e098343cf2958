"""Input validation compiled straight from the seeds' JSON Schemas (the files are the contract).

``compile_schema`` turns a schema into a plain function that checks a decoded JSON value and
returns it with defaults applied, or raises ``InvalidRequest`` naming the field
(``input.mode``). Only the keywords the seeds use are understood; any other keyword makes
compilation fail, so a schema file can never carry a rule that is silently ignored.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

from adapter.core.errors import InvalidRequest

Check = Callable[[Any, str], Any]

#: Keywords that only describe (never constrain) a value.
ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment"})
#: Keywords that constrain a value, each enforced below.
ASSERTIONS = frozenset(
    {
        "type",
        "enum",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "additionalProperties",
    }
)

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


class SchemaError(ValueError):
    """The schema uses something this validator does not enforce."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    return value is None  # "null"


def _fail(path: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{path} {message}.", path)


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """Compile ``schema`` into ``check(value, path) -> value_with_defaults``."""
    unknown = {k for k in schema if k not in ANNOTATIONS and k not in ASSERTIONS}
    unknown = {k for k in unknown if not k.startswith("x-")}
    if unknown:
        raise SchemaError(f"unsupported schema keywords: {sorted(unknown)}")
    steps: list[Check] = []
    if "type" in schema:
        steps.append(_type_step(schema["type"]))
    if "enum" in schema:
        steps.append(_enum_step(list(schema["enum"])))
    steps.extend(_string_steps(schema))
    steps.extend(_number_steps(schema))
    steps.extend(_array_steps(schema))
    if {"properties", "required", "additionalProperties"} & schema.keys():
        steps.append(_object_step(schema))

    def check(value: Any, path: str) -> Any:
        for step in steps:
            value = step(value, path)
        return value

    return check


#: The largest integer JSON carries exactly everywhere (I-JSON, RFC 7493): a larger one is
#: refused whatever the schema says, so no price, duration or upstream body ever holds one.
EXACT_INTEGER = 2**53 - 1


def _type_step(spec: str | list[str]) -> Check:
    names = [spec] if isinstance(spec, str) else list(spec)
    for name in names:
        if name not in _TYPE_NAMES:
            raise SchemaError(f"unknown type {name!r}")
    wanted = " or ".join(_TYPE_NAMES[n] for n in names)

    def step(value: Any, path: str) -> Any:
        for name in names:
            if _is_type(value, name):
                if name != "integer":
                    return value
                if abs(value) > EXACT_INTEGER:
                    raise _fail(path, f"must be within ±{EXACT_INTEGER} (got {_show(value)})")
                # 5.0 is an integer in JSON Schema; hand the providers a real int.
                return int(value)
        raise _fail(path, f"must be {wanted} (got {_show(value)})")

    return step


def _enum_step(allowed: list[Any]) -> Check:
    shown = ", ".join(_show(a) for a in allowed)

    def step(value: Any, path: str) -> Any:
        # Compare with types: True must not pass for 1, nor 1 for True.
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise _fail(path, f"must be one of {shown} (got {_show(value)})")
        return value

    return step


def _string_steps(schema: Mapping[str, Any]) -> list[Check]:
    steps: list[Check] = []
    if "minLength" in schema:
        low = int(schema["minLength"])

        def min_length(value: Any, path: str) -> Any:
            if isinstance(value, str) and len(value) < low:
                raise _fail(path, f"must be at least {low} character{'s' * (low != 1)} long")
            return value

        steps.append(min_length)
    if "maxLength" in schema:
        high = int(schema["maxLength"])

        def max_length(value: Any, path: str) -> Any:
            if isinstance(value, str) and len(value) > high:
                raise _fail(path, f"must be at most {high} characters long (got {len(value)})")
            return value

        steps.append(max_length)
    return steps


def _number_steps(schema: Mapping[str, Any]) -> list[Check]:
    steps: list[Check] = []
    for keyword, ok, words in (
        ("minimum", lambda v, b: v >= b, "at least"),
        ("maximum", lambda v, b: v <= b, "at most"),
    ):
        if keyword in schema:
            bound = schema[keyword]

            def bounded(
                value: Any, path: str, bound: Any = bound, ok: Any = ok, words: str = words
            ) -> Any:
                if _is_type(value, "number") and not ok(value, bound):
                    raise _fail(path, f"must be {words} {bound} (got {_show(value)})")
                return value

            steps.append(bounded)
    return steps


def _array_steps(schema: Mapping[str, Any]) -> list[Check]:
    steps: list[Check] = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None or high is not None:

        def count(value: Any, path: str) -> Any:
            if isinstance(value, list):
                if low is not None and len(value) < low:
                    raise _fail(path, f"must have at least {low} item{'s' * (low != 1)}")
                if high is not None and len(value) > high:
                    raise _fail(path, f"must have at most {high} item{'s' * (high != 1)}")
            return value

        steps.append(count)
    if "items" in schema:
        item = compile_schema(schema["items"])

        def items(value: Any, path: str) -> Any:
            if isinstance(value, list):
                return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return value

        steps.append(items)
    return steps


def _object_step(schema: Mapping[str, Any]) -> Check:
    props = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
    defaults = {
        name: sub["default"]
        for name, sub in schema.get("properties", {}).items()
        if "default" in sub
    }
    required = list(schema.get("required", []))
    extra = schema.get("additionalProperties", True)
    extra_check = compile_schema(extra) if isinstance(extra, dict) else None

    def step(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        for name in required:
            if name not in value:
                raise InvalidRequest(f"{path}.{name} is required.", f"{path}.{name}")
        out: dict[str, Any] = {}
        for name, item in value.items():
            where = f"{path}.{name}"
            if name in props:
                out[name] = props[name](item, where)
            elif extra is False:
                known = ", ".join(sorted(props))
                raise InvalidRequest(
                    f"{where} is not a known field (known fields: {known}).", where
                )
            else:
                out[name] = extra_check(item, where) if extra_check else item
        for name, default in defaults.items():
            if name not in out:
                out[name] = copy.deepcopy(default)
        return out

    return step
