"""Keeps IINs out of log lines whatever a message or a URL carried."""

import logging
import re

IIN_PATTERN = re.compile(r"(?<!\d)\d{12}(?!\d)")


class MaskIINFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if IIN_PATTERN.search(message):
            record.msg = IIN_PATTERN.sub("<iin>", message)
            record.args = None
        return True
