"""Keep secrets that arrive in query strings (?token=, ?secret=) out of the logs.

A logging filter for every handler that may print a request line or URL:
Django's console handler (runserver's request lines included) and gunicorn's
error and access logs (gunicorn.conf.py, whose access format has no query
string anyway). Values of query parameters whose names look secret are
replaced by "[redacted]"; the path and the other parameters stay.
"""

import logging
import re

_SECRET_PARAMETER = re.compile(
    r"(?i)([?&][^=&\s\"']*(?:token|secret|password|passwd|key|signature|auth)[^=&\s\"']*=)[^&\s\"']+")


def redact(text: str) -> str:
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with secret query parameters redacted (the record is always kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
