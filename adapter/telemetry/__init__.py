"""The adapter's metrics, kept with prometheus-client (``adapter.ports.Metrics``)."""
