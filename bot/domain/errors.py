"""The one exception tree of uschina-bot.

::

    BotError                      base of everything the bot raises on purpose
    ├── ConfigError               bad YAML, env or taxonomy; carries key and line
    ├── StorageError              the database cannot be reached or migrated
    │   └── DatabaseUnavailableError  down, busy (locked) or full right now; retry later
    ├── FetchError                a source could not be fetched (kept as a result, see FetchOutcome)
    │   └── UnsafeURLError        scheme, host or resolved address refused (SSRF guard)
    ├── ParseError                bytes are not a feed/page we can read
    ├── CommandError              a chat/CLI command is malformed; carries the usage line
    └── DeliveryError             posting to a chat platform failed
        ├── TransientDeliveryError   retry later (429, 5xx, network); may carry retry_after
        │   └── AmbiguousDeliveryError   the post may have landed: look before resending
        ├── PermanentDeliveryError   pause the target (channel_not_found, 404), or the whole
        │   │                        platform when ``workspace`` (revoked token, bad auth)
        │   └── MissingScopeError    the app lacks a permission scope for this call (e.g.
        │                            reading history): that call is impossible, posting may not be
        └── PayloadRejectedError     the payload itself was refused (resend plain or split)
            └── PayloadTooLargeError     too big for one message: split it

Per-source failures never escape a poll cycle: the fetcher and the parser turn them into
results (a failed ``FetchOutcome``, ``ParsedFeed.warnings``) so one source cannot break others.
"""

from __future__ import annotations

from typing import ClassVar


class BotError(Exception):
    """Base of every deliberate uschina-bot error."""


class ConfigError(BotError):
    """Configuration is invalid. ``key`` and ``line`` locate the problem when known."""

    def __init__(self, message: str, *, key: str | None = None, line: int | None = None) -> None:
        self.key = key
        self.line = line
        where = []
        if key:
            where.append(f"key '{key}'")
        if line:
            where.append(f"line {line}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{message}")


class StorageError(BotError):
    """The database is unreachable or cannot be migrated."""


class DatabaseUnavailableError(StorageError):
    """The database cannot answer right now; ``kind`` is "down", "busy" or "full".

    The message is written for the person who asked; the transaction was rolled back, so
    nothing was half-written.
    """

    MESSAGES: ClassVar[dict[str, str]] = {
        "down": "the database is unavailable; try again in a minute.",
        "busy": "the database is busy; try again in a moment.",
        "full": "the database is full: free disk space, then try again (nothing was saved).",
    }

    def __init__(self, kind: str) -> None:
        self.kind = kind if kind in self.MESSAGES else "down"
        super().__init__(self.MESSAGES[self.kind])


class FetchError(BotError):
    """A source could not be fetched; the message is written for a person."""


class UnsafeURLError(FetchError):
    """A URL or one of its resolved addresses is not allowed (scheme, private network)."""


class ParseError(BotError):
    """The bytes are not a feed or page that can be read."""


class CommandError(BotError):
    """A command is malformed. ``usage`` is the usage line to show the user."""

    def __init__(self, message: str, usage: str = "") -> None:
        self.usage = usage
        super().__init__(message)


class DeliveryError(BotError):
    """Posting to a chat platform failed."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later; ``retry_after`` seconds when the platform said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class AmbiguousDeliveryError(TransientDeliveryError):
    """Retry later, but the failed attempt may have been posted (connection reset after the
    request was sent, an answer after the client timeout, the platform's internal error):
    check whether it landed before sending again."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help; the target is paused with this reason.

    ``workspace`` is True when the whole platform account is unusable (revoked token, bad
    auth): every target of the platform is paused, not only this one."""

    def __init__(self, message: str, *, workspace: bool = False) -> None:
        self.workspace = workspace
        super().__init__(message)


class MissingScopeError(PermanentDeliveryError):
    """The app was not granted the scope this call needs (Slack ``missing_scope``).

    Its message is the platform's code, so a target paused for it reads the same as before."""


class PayloadRejectedError(DeliveryError):
    """The platform rejected the payload itself (e.g. invalid_blocks); send a plain fallback."""


class PayloadTooLargeError(PayloadRejectedError):
    """The message is too large for one post (Teams 413 / "entity too large"): split it."""
