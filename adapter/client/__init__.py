"""The command-line client of the task API (``api``: the HTTP client; ``cli``: its commands).

It speaks the public API only and imports nothing of the server, so it works against this
adapter and against api.mindvideo.ai alike."""
