"""Outbound HTTP shared by the providers, media checks and webhook deliveries: the client
(``client.py``) and plain words for a failed connection (``failures.py``)."""
