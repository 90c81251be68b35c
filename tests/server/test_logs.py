"""The JSON log formatter."""

from __future__ import annotations

import json
import logging

from letterlock.server.logs import JsonFormatter


def test_json_lines_with_extra_fields() -> None:
    record = logging.LogRecord("letterlock.server", logging.INFO, __file__, 1, "hello %s",
                               ("world",), None)
    record.device_id = "ab" * 16
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello world"
    assert line["level"] == "info" and line["logger"] == "letterlock.server"
    assert line["device_id"] == "ab" * 16
    assert line["ts"].endswith("Z")
