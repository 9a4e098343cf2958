"""The one-way data flow of DESIGN.md section 3, checked on the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "adapter"

#: package -> module prefixes it must never import.
FORBIDDEN = {
    "service": (
        "httpx",
        "redis",
        "fakeredis",
        "starlette",
        "adapter.http",
        "adapter.stores",
        "adapter.providers",
        "adapter.media",
        "adapter.simulator",
        "adapter.app",
    ),
    "http": (
        "httpx",
        "redis",
        "adapter.stores",
        "adapter.providers",
        "adapter.media",
        "adapter.simulator",
    ),
    "providers": ("adapter.service", "adapter.http", "adapter.stores", "adapter.media", "redis"),
    "stores": ("adapter.service", "adapter.http", "adapter.providers", "httpx"),
    "media": ("adapter.service", "adapter.http", "adapter.stores", "adapter.providers", "redis"),
    "webhooks": ("adapter.service", "adapter.http", "adapter.stores", "adapter.providers", "redis"),
    "outbound": (
        "adapter.service",
        "adapter.http",
        "adapter.stores",
        "adapter.providers",
        "adapter.media",
        "adapter.webhooks",
        "adapter.simulator",
        "redis",
    ),
    "simulator": (
        "adapter.service",
        "adapter.http",
        "adapter.stores",
        "adapter.providers",
        "adapter.media",
        "redis",
    ),
}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(package: str) -> None:
    """service/ knows ports only; adapters never reach into the service or into each other."""
    offences = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in imports(path)
        if name.startswith(FORBIDDEN[package])
    ]
    assert offences == []
