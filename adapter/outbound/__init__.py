"""Outbound HTTP, shared by the providers, the media checks and the webhook deliveries.

- ``client``: the one way to make an HTTP client (aiohttp transport, timeouts, a pool);
- ``failures``: plain words for a failed connection (refused, DNS, TLS, timeout);
- the one rule for URLs a client gives us (media, ``audio_url``, ``webhook_url``): ``urls``
  (forms, credentials, allow-lists, rewrites), ``hosts`` (hosts read as getaddrinfo reads
  them), ``addresses`` (every address public) and ``resolver`` (connections go only to the
  addresses that were vetted).
"""
