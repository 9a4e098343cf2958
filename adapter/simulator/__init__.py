"""Simulated upstreams that speak the real dialects over real HTTP (dev, tests, benchmarks).

``create_simulator_app(SimulatorConfig(...), clock=...)`` builds one app serving the simulated
Kling upstream (gateway and official dialects; motion-control, text2video, image2video and
omni-video) and the simulated DashScope upstream (Wan image-to-video, async), plus test media;
``app.py`` lists the routes. ``MARKERS`` lists the prompt markers that script outcomes (their
Kling effects; ``dashscope.DASHSCOPE_MARKERS`` gives the DashScope ones).
"""

from __future__ import annotations

from adapter.simulator.app import create_simulator_app
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.script import MARKERS

__all__ = ("MARKERS", "SimulatorConfig", "create_simulator_app")
