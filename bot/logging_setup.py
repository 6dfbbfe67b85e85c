"""Logging with secrets redacted: tokens, signing secrets, webhook signatures, response URLs."""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(sig=)[^&\s\"']+"),
    re.compile(r"(https://hooks\.slack\.com/)[^\s\"']+"),
    re.compile(r"(response_url[\"'=:\s]+)[^\s\"'&]+"),
    re.compile(r"(Authorization:?\s*(?:HMAC|Bearer)\s+)[^\s\"']+", re.IGNORECASE),
    re.compile(r"(://[^:/\s]+:)[^@/\s]+(@)"),
)


def redact(text: str) -> str:
    """``text`` with every credential-looking substring replaced by ``***``."""
    for pattern in _PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(r"\1***\2", text)
        elif pattern.groups == 1:
            text = pattern.sub(r"\1***", text)
        else:
            text = pattern.sub("***", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "httpx",
        "httpcore",
        "slack_bolt",
        "slack_sdk",
        "apscheduler",
        "aiosqlite",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # "skipped: maximum number of running instances reached" is max_instances=1 working
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
