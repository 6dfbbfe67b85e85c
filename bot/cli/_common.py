"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from bot.domain.errors import BotError, ConfigError, StorageError

if TYPE_CHECKING:
    from bot.app import App
    from bot.domain.taxonomy import Taxonomy


def parse_now(text: str | None) -> datetime:
    """``--now`` value -> aware UTC datetime; None means the real clock."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"--now expects an ISO date or datetime such as 2024-09-01T08:00, got {text!r}"
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def add_now(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        metavar="ISO",
        help="freeze the clock at this ISO date/datetime (UTC unless an offset is given)",
    )


def open_input(path: str) -> IO[str]:
    """Open ``path`` for reading text, ``-`` meaning standard input."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _text_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Numbered lines of ``stream``, decoded one by one as UTF-8 (a leading BOM is dropped) so
    that bytes that are not UTF-8 give a ``ConfigError`` naming their line, not a traceback."""
    raw = getattr(stream, "buffer", None)
    if raw is None:  # an in-memory text stream: already decoded
        yield from enumerate(stream, start=1)
        return
    for number, data in enumerate(raw, start=1):
        try:
            yield number, data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"line {number} is not UTF-8 text (byte 0x{data[exc.start]:02x} at column "
                f"{exc.start + 1}); save the file as UTF-8"
            ) from exc


def read_jsonl(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """Yield JSON objects from a JSON Lines stream; a bad line names its number."""
    for number, line in _text_lines(stream):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"line {number} is not valid JSON: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise ConfigError(f"line {number} is not a JSON object")
        yield value


def write_jsonl(rows: Iterable[dict[str, Any]], stream: IO[str] = sys.stdout) -> None:
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")


def with_app(
    args: argparse.Namespace,
    body: Callable[[App], Awaitable[int]],
    *,
    sync_config: bool = True,
) -> int:
    """Load settings, build the app (clock frozen by ``--now`` when given), run ``body``, close."""
    import asyncio

    from bot.app import build_app  # heavy: sqlalchemy
    from bot.config import load_settings  # heavy: pydantic

    settings = load_settings(config_path=getattr(args, "config", None))
    frozen = getattr(args, "now", None)
    clock = (lambda: parse_now(frozen)) if frozen else None

    async def main() -> int:
        kwargs: dict[str, Any] = {"sync_config": sync_config}
        if clock is not None:
            kwargs["clock"] = clock
        try:
            app = await build_app(settings, **kwargs)
            try:
                return await body(app)
            finally:
                await app.close()
        except Exception as exc:
            from storage.db import describe_failure  # heavy: sqlalchemy

            problem = None if isinstance(exc, BotError) else describe_failure(exc)
            if problem is None:
                raise
            raise StorageError(problem) from exc

    return asyncio.run(main())


def is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def cli_taxonomy(path: str | None) -> Taxonomy:
    """The taxonomy a command uses: ``--taxonomy PATH``, else the config file's ``taxonomy:``
    key (as ``run``, ``poll`` and ``status`` use it), else the packaged one."""
    from bot.config import load_settings  # heavy: pydantic
    from bot.taxonomy_file import default_taxonomy, load_taxonomy_file  # heavy: yaml

    if path:
        return load_taxonomy_file(path)
    configured = load_settings().file.taxonomy
    return load_taxonomy_file(configured) if configured else default_taxonomy()
