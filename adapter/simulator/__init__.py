"""Simulated upstreams that speak the real dialects over real HTTP (dev, tests, benchmarks)."""
