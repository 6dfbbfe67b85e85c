"""``uschina-bot sources list|add|remove|import|export``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cli._common import add_now, is_tty, with_app
from bot.domain.errors import ConfigError

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
    add.add_argument("--type", default="auto", choices=["auto", "rss", "atom", "json", "html"])
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
    from urllib.parse import urlsplit

    from bot.domain.normalize import canonical_url

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} is not an http:// or https:// URL")
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host:
        raise ConfigError(f"{url!r} has no host name")
    return canonical_url(url)


def shown_url(url: str) -> str:
    """A source URL for display: credentials and query values masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "@" in parts.netloc:
        netloc = "***@" + netloc
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def add_source(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from bot.config import duration_seconds
    from bot.domain.models import SourceSpec

    url = _validate_url(args.url)
    try:
        interval = duration_seconds(args.interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from None
    if args.type == "html" and not args.selector:
        raise ConfigError("--type html needs --selector (CSS selector of the item links)")
    if args.selector and args.type != "html":
        raise ConfigError("--selector only applies to --type html pages")
    if args.selector:
        _check_selector(args.selector)
    spec = SourceSpec(
        name=args.name or urlsplit(url).hostname or url,
        url=url,
        type=args.type,
        interval_s=max(60, interval),
        selector=args.selector,
        official=args.official,
    )

    async def body(app: App) -> int:
        source = await app.store.sources.add(spec, origin="user", now=app.now())
        print(f"added source {source.id}: {source.name} <{shown_url(source.url)}>")
        print("Its first poll stores a baseline: existing items are recorded, not alerted.")
        return 0

    return with_app(args, body)


def _check_selector(selector: str) -> None:
    from bot.domain.parse import check_selector

    problem = check_selector(selector)
    if problem:
        raise ConfigError(f"--selector {selector!r} is not a valid CSS selector: {problem}")


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

    from bot.domain.opml import parse_opml

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from None
    specs = parse_opml(data)

    async def body(app: App) -> int:
        tty = is_tty(sys.stderr)
        known = {s.url for s in await app.store.sources.all()}
        added = 0
        for n, spec in enumerate(specs, start=1):
            if spec.url not in known:
                await app.store.sources.add(spec, origin="opml", now=app.now())
                known.add(spec.url)
                added += 1
            if tty:
                sys.stderr.write(f"\rimporting {n}/{len(specs)}")
            elif n % 50 == 0 or n == len(specs):
                sys.stderr.write(f"imported {n}/{len(specs)}\n")
        if tty and specs:
            sys.stderr.write("\n")
        print(f"{added} sources added, {len(specs) - added} already present")
        return 0

    return with_app(args, body)


def export_opml(args: argparse.Namespace) -> int:
    from bot.domain.opml import to_opml

    async def body(app: App) -> int:
        sys.stdout.write(to_opml([s.spec for s in await app.store.sources.all()]))
        return 0

    return with_app(args, body)
