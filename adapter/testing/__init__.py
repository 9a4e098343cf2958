"""For testing code that calls MindVideo: an in-process adapter with the simulator behind it
(``MindVideoServer``), and the pytest plugin that serves it as the ``mindvideo_server``
fixture (``adapter.testing.pytest_plugin``, registered as the ``mindvideo`` pytest11 entry
point of this package)."""

from adapter.testing.server import MindVideoServer

__all__ = ["MindVideoServer"]
