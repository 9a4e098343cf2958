"""What the contract tests share: the simulator's address and timing, and jobs from inputs."""

from __future__ import annotations

from typing import Any

import msgspec

from adapter.inputs import INPUT_TYPES
from adapter.model import VideoJob
from adapter.simulator import SimulatorConfig

START = 1_774_805_076.0
SIM = "http://sim.test"
CONFIG = SimulatorConfig(queue_s=1.0, process_s=2.0)
IMAGE = "https://example.com/portrait.jpg"


def job(model: str, values: dict[str, Any], external_id: str = "task_contract_1") -> VideoJob:
    typed = msgspec.convert(values, INPUT_TYPES[model])
    return VideoJob(model=model, input=typed, external_id=external_id)
