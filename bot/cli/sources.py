"""``uschina-bot sources list|add|remove|import|export``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cli._common import add_now, is_tty, with_app
from bot.domain import source_types
from bot.domain.errors import ConfigError, UnsafeURLError
from bot.domain.models import SourceSpec
from bot.domain.normalize import canonical_url
from bot.domain.parse import check_selector
from bot.domain.source_input import check_interval, clean_source_name, clean_source_url, shown_url

if TYPE_CHECKING:
    from bot.app import App
    from bot.domain.models import Source


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sources", help="list, add, remove, import or export news sources")
    verbs = p.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    ls = verbs.add_parser("list", help="sources with their health")
    add_now(ls)
    ls.set_defaults(handler=list_sources)
    add = verbs.add_parser("add", help="add a feed or page")
    add.add_argument("url")
    add.add_argument("--name", help="display name (default: the host)")
    add.add_argument("--type", default="auto", choices=source_types.names())
    add.add_argument("--selector", help="CSS selector of item links (type html)")
    add.add_argument("--interval", default="15m", help="poll interval, e.g. 10m, 1h")
    add.add_argument("--official", action="store_true", help="a government source")
    add.set_defaults(handler=add_source)
    rm = verbs.add_parser("remove", help="remove a source by id (its items are deleted)")
    rm.add_argument("id", type=int)
    rm.set_defaults(handler=remove_source)
    imp = verbs.add_parser("import", help="import feeds from an OPML file")
    imp.add_argument("file")
    imp.set_defaults(handler=import_opml)
    exp = verbs.add_parser("export", help="print the sources as OPML")
    exp.set_defaults(handler=export_opml)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def health_line(source: Source, now: datetime) -> str:
    st = source.state
    health = "ok" if st.failures == 0 else f"FAILING x{st.failures}"
    if st.last_success is None and st.failures == 0:
        health = "not polled yet"
    parts = [
        f"{source.id:>4}  {source.name}",
        f"      {shown_url(source.url)}",
        f"      {health}; last success {_ago(st.last_success, now)}; "
        f"next poll {_ago(st.next_poll, now) if st.next_poll else 'now'}",
    ]
    if st.last_error:
        parts.append(f"      last error: {st.last_error}")
    if st.last_warning:
        parts.append(f"      warning: {st.last_warning}")
    if not source.spec.enabled:
        parts.append("      (disabled)")
    return "\n".join(parts)


def list_sources(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        now = app.now()
        sources = await app.store.sources.all()
        if not sources:
            print("No sources. Add one with: uschina-bot sources add URL")
        for source in sources:
            print(health_line(source, now))
        return 0

    return with_app(args, body)


def _validate_url(url: str) -> str:
    try:
        return canonical_url(clean_source_url(url))
    except ConfigError as exc:
        # from None: the cause is our own error, whose text the message repeats
        raise ConfigError(f"cannot add {shown_url(url[:200])}: {exc}") from None


def add_source(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from bot.config import duration_seconds  # heavy: pydantic

    url = _validate_url(args.url)
    try:
        interval = check_interval(duration_seconds(args.interval), what="--interval")
    except ValueError as exc:
        # from None: the cause is our own error, whose text the message repeats
        raise ConfigError(f"--interval: {exc}") from None
    needs_selector = source_types.get(args.type).needs_selector
    if needs_selector and not args.selector:
        raise ConfigError(f"--type {args.type} needs --selector (CSS selector of the item links)")
    if args.selector and not needs_selector:
        pages = ", ".join(source_types.selector_types())
        raise ConfigError(f"--selector only applies to --type {pages} pages")
    if args.selector:
        _check_selector(args.selector)
    try:
        name = clean_source_name(args.name) if args.name is not None else None
    except ConfigError as exc:
        # from None: the cause is our own error, whose text the message repeats
        raise ConfigError(f"--name: {exc}") from None
    spec = SourceSpec(
        name=name or urlsplit(url).hostname or url,
        url=url,
        type=args.type,
        interval_s=interval,
        selector=args.selector,
        official=args.official,
    )

    async def body(app: App) -> int:
        from bot.sources.http import check_source_host  # heavy: httpx

        try:
            note = await check_source_host(
                url, allow_private=app.settings.allow_private_networks, unresolvable_ok=True
            )
        except UnsafeURLError as exc:
            # from None: the cause is our own error, whose text the message repeats
            raise ConfigError(f"cannot add {shown_url(url)}: {exc}") from None
        if note:
            print(f"note: {note}", file=sys.stderr)
        if await app.store.sources.by_url(url) is not None:
            raise ConfigError(
                f"{shown_url(url)} is already a source (see: uschina-bot sources list)"
            )
        source = await app.store.sources.add(spec, origin="user", now=app.now())
        print(f"added source {source.id}: {source.name} <{shown_url(source.url)}>")
        print("Its first poll stores a baseline: existing items are recorded, not alerted.")
        return 0

    return with_app(args, body)


def _check_selector(selector: str) -> None:
    problem = check_selector(selector)
    if problem:
        shown = selector if len(selector) <= 80 else selector[:77] + "..."
        raise ConfigError(f"--selector {shown!r} is not a usable CSS selector: {problem}")


def remove_source(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        source = await app.store.sources.get(args.id)
        if source is None:
            raise ConfigError(f"no source with id {args.id} (see: uschina-bot sources list)")
        if app.settings.file.sources is not None and any(
            spec.url == source.url for spec in app.settings.source_specs()
        ):
            raise ConfigError(
                f"source {args.id} comes from the config file {app.settings.config_path}: "
                "remove it there"
            )
        if app.settings.file.sources is None and any(
            spec.url == source.url for spec in app.settings.source_specs()
        ):
            await app.store.sources.set_enabled(args.id, False)
            print(f"disabled built-in source {args.id} ({source.name}); it stays off")
            return 0
        await app.store.sources.remove(args.id)
        print(f"removed source {args.id} ({source.name}) and its items")
        return 0

    return with_app(args, body)


def import_opml(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.domain.opml import read_opml  # heavy: urllib.request

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from exc
    found = read_opml(data)
    specs = found.specs

    async def body(app: App) -> int:
        tty = is_tty(sys.stderr)
        known = {s.url for s in await app.store.sources.all()}
        added = 0
        present = 0
        for n, spec in enumerate(specs, start=1):
            if spec.url in known:
                present += 1
            else:
                await app.store.sources.add(spec, origin="opml", now=app.now())
                known.add(spec.url)
                added += 1
            if tty:
                sys.stderr.write(f"\rreading {n}/{len(specs)}")
            elif n % 50 == 0:
                sys.stderr.write(f"read {n}/{len(specs)}\n")
        if tty and specs:
            sys.stderr.write("\n")
        print(import_summary(added, present, found.total, found.skipped))
        return 0

    return with_app(args, body)


def import_summary(added: int, present: int, total: int, skipped: list[tuple[str, str]]) -> str:
    """``imported 1 of 2; skipped 1: javascript: URLs are not allowed (javascript:x)``."""
    parts = [f"imported {added} of {total}"]
    if present:
        parts.append(f"{present} already present")
    if skipped:
        reasons = ", ".join(f"{reason} ({url})" for url, reason in skipped[:5])
        more = f", and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        parts.append(f"skipped {len(skipped)}: {reasons}{more}")
    return "; ".join(parts)


def export_opml(args: argparse.Namespace) -> int:
    from bot.domain.opml import to_opml  # heavy: urllib.request

    async def body(app: App) -> int:
        sys.stdout.write(to_opml([s.spec for s in await app.store.sources.all()]))
        return 0

    return with_app(args, body)
