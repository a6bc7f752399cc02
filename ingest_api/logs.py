"""Logging for the API's processes: our loggers (`pulse.*`) write one line per event to
stderr beside uvicorn's: text (the time, level and logger) or, with PULSE_LOG_FORMAT=json, one
JSON object per line for a log collector."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, RFC 3339), level, logger, message, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Give the `pulse` loggers a handler (once per process; uvicorn configures only its own)."""
    pulse = logging.getLogger("pulse")
    if pulse.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    pulse.addHandler(handler)
    pulse.setLevel(level)
