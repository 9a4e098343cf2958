"""Run a benchmark script as CI's smoke tests do: in the repository, bounded, its output kept."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> str:
    """What ``benchmarks/<script>`` printed, once it ended by itself with status 0.

    One that outlives 300 s is sent SIGTERM (the benchmarks clean up on it), then its whole
    process group is killed: no server it started outlives it.
    """
    process = subprocess.Popen(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            out, err = process.communicate(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):  # none left in the group
                os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"{script} ran over 300 s:\n{out}{err}") from None
    assert process.returncode == 0, out + err
    return out
