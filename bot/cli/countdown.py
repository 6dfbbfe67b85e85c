"""``uschina-bot countdown list|add NAME DATE [--tentative] [--where W] [--past]
[--follow-news]|remove ID|confirm ID|dismiss ID``.

A date already over is refused unless ``--past`` says it is meant (it is then kept and listed
under Past). ``confirm``/``dismiss`` act on changes the news proposed (listed by
``countdown list``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli._common import add_now, with_app
from bot.domain.errors import CommandError
from bot.domain.textout import to_text

if TYPE_CHECKING:
    from bot.app import App

ADD_USAGE = (
    "countdown add NAME YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD [--tentative] [--where W] [--past] "
    "[--follow-news]"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("countdown", help="list, add or remove countdowns to dated events")
    verbs = p.add_subparsers(dest="countdown_command", metavar="ACTION", required=True)
    ls = verbs.add_parser(
        "list", help="countdowns with their day counts and ids, and changes the news proposes"
    )
    add_now(ls)
    ls.set_defaults(handler=list_countdowns)
    add = verbs.add_parser(
        "add",
        help="add a countdown",
        description="DATE is YYYY-MM-DD, or a window YYYY-MM-DD..YYYY-MM-DD (tentative).",
    )
    add.add_argument("name")
    add.add_argument("date", metavar="DATE")
    add.add_argument("--tentative", action="store_true", help="the date is not confirmed")
    add.add_argument("--where", metavar="W", help="place of the event")
    add.add_argument(
        "--past", action="store_true", help="record an event that is already over (as past)"
    )
    add.add_argument(
        "--follow-news",
        action="store_true",
        help="let the news change its dates directly (default: the news only proposes changes)",
    )
    add_now(add)
    add.set_defaults(handler=add_countdown)
    rm = verbs.add_parser("remove", help="remove a countdown by id")
    rm.add_argument("id", type=int)
    rm.set_defaults(handler=remove_countdown)
    for verb, text, handler in (
        ("confirm", "apply a change the news proposed (ID from countdown list)", confirm),
        ("dismiss", "discard a change the news proposed; it is not proposed again", dismiss),
    ):
        change = verbs.add_parser(verb, help=text, description=text)
        change.add_argument("id", type=int, metavar="ID")
        add_now(change)
        change.set_defaults(handler=handler)


def list_countdowns(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from jobs.queries import countdown_list_message  # heavy: sqlalchemy

        print(to_text(await countdown_list_message(app.query_ports(), app.now())))
        return 0

    return with_app(args, body)


def add_countdown(args: argparse.Namespace) -> int:
    from bot.domain.schedule import parse_date_or_window  # heavy: zoneinfo

    name = " ".join(args.name.split())
    if not name:
        raise CommandError("the countdown needs a name", usage=ADD_USAGE)
    try:
        start, end, window = parse_date_or_window(args.date)
    except ValueError as exc:
        # from None: the cause is our own error, whose text the message repeats
        raise CommandError(str(exc), usage=ADD_USAGE) from None

    async def body(app: App) -> int:
        from bot.domain.digest import countdown_line  # heavy: zoneinfo
        from bot.domain.schedule import local_today  # heavy: zoneinfo

        if await app.store.countdowns.by_name(name) is not None:
            raise CommandError(f"a countdown named '{name}' already exists", usage=ADD_USAGE)
        timezone = app.settings.file.timezone
        today = local_today(app.now(), timezone)
        if end < today and not args.past:
            raise CommandError(
                f"{end.isoformat()} has already passed (today is {today.isoformat()} in "
                f"{timezone}); give a date from today on, or add --past to record a past event",
                usage=ADD_USAGE,
            )
        countdown = await app.store.countdowns.add(
            name=name,
            start=start,
            end=end,
            tentative=window or args.tentative,
            where=args.where,
            timezone=timezone,
            milestones=tuple(app.settings.file.milestones),
            origin="command",
            now=app.now(),
            follow_news=args.follow_news,
        )
        from bot.domain.render import render_countdown  # heavy: zoneinfo

        print(f"Added {'past event' if end < today else 'countdown'} #{countdown.id}:")
        print(to_text(render_countdown(countdown_line(countdown, app.now()))))
        return 0

    return with_app(args, body)


def remove_countdown(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        countdown = await app.store.countdowns.get(args.id)
        if countdown is None or not await app.store.countdowns.remove(args.id):
            raise CommandError(f"no countdown #{args.id}", usage="countdown remove ID")
        print(f"Removed countdown #{args.id} ({countdown.name}).")
        return 0

    return with_app(args, body)


def confirm(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from bot.actions import confirmed_text  # heavy: sqlalchemy
        from jobs.countdown import confirm_change  # heavy: sqlalchemy

        now = app.now()
        countdown, applied = await confirm_change(app.countdown_ports(), args.id, now, "cli")
        print(confirmed_text(countdown, applied, args.id, now))
        return 0

    return with_app(args, body)


def dismiss(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from bot.actions import dismissed_text  # heavy: sqlalchemy
        from jobs.countdown import dismiss_change  # heavy: sqlalchemy

        countdown, dismissed = await dismiss_change(
            app.countdown_ports(), args.id, app.now(), "cli"
        )
        print(dismissed_text(countdown, dismissed, args.id))
        return 0

    return with_app(args, body)
