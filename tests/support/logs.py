"""Capturing structlog events in tests, at every level."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import structlog
from structlog.testing import capture_logs


@contextlib.contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """`capture_logs()` keeps the configured wrapper class, whose level an earlier test may have
    raised (a CLI's `configure_logging("WARNING")`), which drops info events; lower it for the
    duration."""
    saved = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=saved)
