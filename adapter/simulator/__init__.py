"""Simulated upstreams that speak the real dialects over real HTTP (dev, tests, benchmarks).

``create_simulator_app(SimulatorConfig(...), clock=...)`` builds the simulated Kling upstream;
``MARKERS`` lists the prompt markers that script its outcomes.
"""

from __future__ import annotations

from adapter.simulator.app import create_simulator_app
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.script import MARKERS

__all__ = ("MARKERS", "SimulatorConfig", "create_simulator_app")
