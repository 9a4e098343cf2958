"""``mindvideo-adapter providers check``: is each configured upstream what it is configured as?

Each provider is asked something harmless (the status of a task that cannot exist), all at
once, and its answer read: reachable, credentials accepted, the dialect spoken (JSON of the
right shape), plus the models it is configured for. Exits 1 when any provider fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from adapter.bootstrap.adapters import load_catalog, make_providers
from adapter.config.providers import ProviderConfig
from adapter.config.settings import Settings
from adapter.core.values import ProviderCheck
from adapter.outbound.client import build_http_client
from adapter.ports import VideoProvider


def run_providers(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_check_all(settings, args.timeout))


async def _check_all(settings: Settings, timeout_s: float) -> int:
    out = sys.stdout.write
    # The report says what the providers' own log lines would: keep stderr for real errors.
    logging.getLogger("adapter.providers").setLevel(logging.ERROR)
    if settings.uses_simulator:
        out(
            "No providers are configured: serve uses the built-in simulator. Configure them "
            "with KLING_BASE_URL, DASHSCOPE_API_KEY, NEWAPI_BASE_URL, FAL_KEY, "
            "REPLICATE_API_TOKEN or MVA_PROVIDERS_FILE "
            "(README, 'Providers').\n"
        )
        return 0
    http = build_http_client(timeout_s=timeout_s, connect_timeout_s=min(5.0, timeout_s))
    try:
        catalog = load_catalog(settings)
        providers, _ = make_providers(settings, http, catalog)  # the configured ones
        checks = await asyncio.gather(*(_checked(p, timeout_s) for p in providers))
    finally:
        await http.aclose()
    for config, provider, check in zip(settings.providers, providers, checks, strict=True):
        models = [spec.slug for spec in catalog if provider.serves(spec.slug)]
        out(report(config, check, models))
    failed = sum(not check.ok for check in checks)
    if failed:
        out(f"{failed} of {len(checks)} providers failed the check.\n")
        return 1
    out(f"All {len(checks)} providers passed the check.\n")
    return 0


async def _checked(provider: VideoProvider, timeout_s: float) -> ProviderCheck:
    try:
        async with asyncio.timeout(timeout_s):
            return await provider.check()
    except TimeoutError:
        return ProviderCheck(False, None, None, f"no answer within {timeout_s:g} s")


def report(config: ProviderConfig, check: ProviderCheck, models: list[str]) -> str:
    """One provider's block: a heading, then a line per finding."""
    verdict = "ok" if check.ok else "FAILED"
    lines = [f"{config.name} ({config.dialect}, {config.base_url}): {verdict}"]
    lines.append(f"  reachable    {'yes' if check.reachable else 'no: ' + check.detail}")
    if check.reachable:
        credentials = {True: "accepted", False: "refused", None: "not known from the answer"}
        lines.append(f"  credentials  {credentials[check.credentials]}")
        dialect = {True: "yes", False: "no", None: "not known from the answer"}
        lines.append(f"  dialect      {dialect[check.dialect]}: {check.detail}")
    lines.append(f"  models       {', '.join(models) or 'none'}")
    lines.extend(f"  warning      {warning}" for warning in check.warnings)
    return "\n".join(lines) + "\n"
