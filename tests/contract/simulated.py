"""What the contract tests share: the simulator's address and timing, and jobs from inputs."""

from __future__ import annotations

from typing import Any

from adapter.core.values import VideoJob
from adapter.simulator import SimulatorConfig
from tests import models

START = 1_774_805_076.0
SIM = "http://sim.test"
CONFIG = SimulatorConfig(queue_s=1.0, process_s=2.0)
IMAGE = "https://example.com/portrait.jpg"


def job(model: str, values: dict[str, Any], external_id: str = "task_contract_1") -> VideoJob:
    return models.job(model, values, external_id)
