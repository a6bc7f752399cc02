"""Logging for the API's processes: our loggers (`pulse.*`) write one line per event to
stderr beside uvicorn's, with the time, level and logger."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: int = logging.INFO) -> None:
    """Give the `pulse` loggers a handler (once per process; uvicorn configures only its own)."""
    pulse = logging.getLogger("pulse")
    if pulse.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    pulse.addHandler(handler)
    pulse.setLevel(level)
