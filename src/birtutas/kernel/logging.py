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
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is masked once, here.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = IIN_PATTERN.sub("<iin>", record.exc_text)
        return True
