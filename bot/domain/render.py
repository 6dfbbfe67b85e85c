"""Domain views -> platform-neutral :class:`Message` (pure; ``now`` is always passed in).

Invariants:
- every ``Message`` has a ``kind`` and a plain-text ``fallback`` summarising the whole content
  (at most ``FALLBACK_LIMIT`` characters, unescaped: platform renderers escape it);
- untrusted strings (feed titles, outlet names, user input) only ever travel inside ``Text``,
  ``Strong`` or ``Link`` spans, with whitespace collapsed to single spaces, so newlines inside
  spans are always layout written here;
- nothing here knows Slack or Teams syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.models import (
    Actions,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Item,
    Link,
    Message,
    Paragraph,
    Source,
    Span,
    Story,
    Strong,
    Text,
    When,
)
from bot.domain.source_input import shown_url
from bot.domain.views import (
    AlertView,
    ChangeView,
    CountdownLine,
    DigestSection,
    DigestView,
    ProposalView,
    SourceRow,
    StatusDetailView,
    StatusRow,
    StatusView,
    SubscriptionRow,
    TopicEntry,
)

FALLBACK_LIMIT = 3000
TITLE_LIMIT = 250
SUMMARY_LIMIT = 300
DIGEST_MAX_PER_TOPIC = 8
LIST_MAX = 25
PAST_MAX = 5
BULLET = "• "
SEP = " · "

_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------- small helpers


def clean(text: str | None, limit: int = TITLE_LIMIT) -> str:
    """Collapse whitespace, strip, and cut to ``limit`` characters (ending with "…")."""
    flat = _WS.sub(" ", text or "").strip()
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def age_phrase(at: datetime, now: datetime) -> str:
    """A compact age such as "just now", "5m ago", "3h ago", "2d ago"."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


def change_marker(count: int, previous: int) -> str:
    """ "▲3", "▼2" or "=" for the change from ``previous`` to ``count``."""
    delta = count - previous
    if delta > 0:
        return f"▲{delta}"
    if delta < 0:
        return f"▼{-delta}"
    return "="


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def utc_text(at: datetime) -> str:
    """Plain UTC time used in fallbacks: "2024-09-10 14:00 UTC"."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _local_text(at: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%a %d %b %H:%M").replace(" 0", " ")


def _fallback(lines: Iterable[str]) -> str:
    text = "\n".join(line for line in lines if line)
    if len(text) <= FALLBACK_LIMIT:
        return text
    return text[: FALLBACK_LIMIT - 1].rstrip() + "…"


def _title_link(url: str, title: str) -> Link:
    return Link(url=url, label=clean(title) or url)


def _outlets_suffix(outlets: Sequence[str], total: int) -> str:
    """ "Reuters" or "Reuters +2" (``total`` outlets overall)."""
    first = clean(outlets[0], 80) if outlets else ""
    extra = max(total - 1, 0)
    if not first:
        return f"{plural(total, 'outlet')}" if total > 1 else ""
    return f"{first} +{extra}" if extra else first


def _story_line(story: Story, now: datetime | None) -> list[Span]:
    """Spans of one bulleted story line (no trailing newline)."""
    spans: list[Span] = [Text(BULLET), _title_link(story.url, story.title)]
    bits = []
    outlets = _outlets_suffix(story.outlets, max(len(story.outlets), 1))
    if outlets:
        bits.append(outlets)
    if story.official:
        bits.append("Official source")
    if now is not None:
        bits.append(age_phrase(story.last_seen, now))
    if bits:
        spans.append(Text(" — " + SEP.join(bits)))
    if now is None:
        spans.extend([Text(SEP if bits else " — "), When(story.last_seen, "datetime")])
    return spans


def _item_line(item: Item, now: datetime | None) -> list[Span]:
    spans: list[Span] = [Text(BULLET), _title_link(item.url, item.title)]
    bits = [clean(item.source_name, 80)] if item.source_name else []
    if item.official:
        bits.append("Official source")
    if now is not None:
        bits.append(age_phrase(item.published, now))
    if bits:
        spans.append(Text(" — " + SEP.join(bits)))
    return spans


def _entry_line(entry: Story | Item, now: datetime | None) -> list[Span]:
    return _story_line(entry, now) if isinstance(entry, Story) else _item_line(entry, now)


def _entry_plain(entry: Story | Item) -> str:
    outlet = (
        _outlets_suffix(entry.outlets, max(len(entry.outlets), 1))
        if isinstance(entry, Story)
        else clean(entry.source_name, 80)
    )
    tail = f" ({outlet})" if outlet else ""
    return f"- {clean(entry.title)}{tail} {entry.url}"


def _lines_paragraph(lines: Sequence[Sequence[Span]]) -> Paragraph:
    """Join span lines with newlines into one paragraph."""
    spans: list[Span] = []
    for index, line in enumerate(lines):
        if index:
            spans.append(Text("\n"))
        spans.extend(line)
    return Paragraph(tuple(spans))


def _more_context(more: int, noun: str = "more") -> Context:
    return Context((Text(f"…and {more} {noun}"),))


# --------------------------------------------------------------------------- alerts


def render_alert(view: AlertView) -> Message:
    """A real-time alert, or with ``view.followup`` the compact thread reply."""
    if view.followup:
        return _render_followup(view)
    story, item = view.story, view.item
    url = item.url or story.url
    title = clean(item.title or story.title)
    outlet = clean(item.source_name, 80)
    official = story.official or item.official
    blocks: list[Block] = [Paragraph((_title_link(url, title),))]
    summary = clean(item.summary, SUMMARY_LIMIT)
    if summary and summary != title:
        blocks.append(Paragraph((Text(summary),)))
    meta: list[Span] = []
    if outlet:
        meta += [Strong(outlet), Text(SEP)]
    meta.append(When(item.published, "datetime"))
    labels = ", ".join(clean(label, 60) for label in view.topic_labels)
    if labels:
        meta.append(Text(SEP + labels))
    if official:
        meta.append(Text(SEP + "Official source"))
    extra = view.outlet_count - 1
    if extra > 0:
        meta.append(Text(f"{SEP}+{plural(extra, 'outlet')}"))
    blocks.append(Context(tuple(meta)))
    blocks.append(Actions(_alert_buttons(view, url)))
    fallback_bits = [f"{title}", outlet, utc_text(item.published), labels]
    if official:
        fallback_bits.append("Official source")
    if extra > 0:
        fallback_bits.append(f"+{plural(extra, 'outlet')}")
    text = " — ".join(b for b in fallback_bits[:1] if b)
    rest = SEP.join(b for b in fallback_bits[1:] if b)
    return Message(
        fallback=_fallback([f"{text} ({rest})" if rest else text, url]),
        blocks=tuple(blocks),
        kind="alert",
    )


def _alert_buttons(view: AlertView, url: str) -> tuple[Button, ...]:
    topic = view.subscribe_topic or next(iter(view.story.topics or view.item.topics), None)
    buttons: list[Button] = []
    if topic:
        buttons.append(Button("Subscribe here", "subscribe_topic", value=topic, style="primary"))
        buttons.append(Button("Mute 24h", "mute_topic", value=topic))
    buttons.append(Button("Open", "open_story", value=view.story.key, url=url))
    return tuple(buttons)


def _render_followup(view: AlertView) -> Message:
    item = view.item
    outlet = clean(item.source_name, 80) or "another outlet"
    title = clean(item.title or view.story.title)
    spans: tuple[Span, ...] = (
        Text("Also reported by "),
        Strong(outlet),
        Text(": "),
        _title_link(item.url, title),
        Text(SEP),
        When(item.published, "datetime"),
    )
    return Message(
        fallback=_fallback([f"Also reported by {outlet}: {title} {item.url}"]),
        blocks=(Context(spans),),
        kind="followup",
    )


def render_burst_summary(
    channel_name: str, count: int, topics: Sequence[str], now: datetime
) -> Message:
    """Summary posted instead of ``count`` further alerts when one source floods a channel."""
    labels = ", ".join(clean(t, 60) for t in topics)
    about = f" about {labels}" if labels else ""
    text = (
        f"{plural(count, 'more relevant item')}{about} arrived for {clean(channel_name, 80)} "
        "and were not posted one by one. Use `latest` or the next digest to see them."
    )
    return Message(
        fallback=_fallback([text]),
        blocks=(
            Paragraph((Text(text),)),
            Context((Text("As of "), When(now, "datetime"))),
        ),
        kind="burst",
    )


def render_updates_summary(channel_name: str, count: int, now: datetime) -> Message:
    """Posted instead of ``count`` follow-ups held back (stories already alerted, updated again)."""
    text = (
        f"…and {plural(count, 'more update')} to stories already posted in "
        f"{clean(channel_name, 80)}, not threaded one by one. Use `latest` or the next digest."
    )
    return Message(
        fallback=_fallback([text]),
        blocks=(Paragraph((Text(text),)), Context((Text("As of "), When(now, "datetime")))),
        kind="burst",
    )


# --------------------------------------------------------------------------- digests


def render_digest(
    view: DigestView, now: datetime, max_per_topic: int = DIGEST_MAX_PER_TOPIC
) -> Message:
    """The scheduled digest: topics with their stories, "and N more", countdowns at the foot."""
    name = clean(view.channel_name, 80)
    title = f"{'Weekly' if view.weekly else 'Daily'} US–China digest"
    period = (
        f"{_local_text(view.period_start, view.timezone)} – "
        f"{_local_text(view.period_end, view.timezone)} ({clean(view.timezone, 60)})"
    )
    blocks: list[Block] = [Header(f"{title} — {name}" if name else title)]
    blocks.append(Context((Text(period),)))
    fallback = [f"{title} for {name} ({period})"]
    if not view.sections:
        quiet = "Quiet period: no new US–China stories on your topics."
        blocks.append(Paragraph((Text(quiet),)))
        fallback.append(quiet)
    else:
        total = sum(s.count for s in view.sections)
        blocks.append(Context((Text(f"{plural(total, 'story', 'stories')} in total"),)))
    if view.chart_url:
        blocks.append(Image(view.chart_url, "Stories per topic over the period"))
    for section in view.sections:
        blocks.append(Divider())
        blocks.extend(_digest_section(section, now, max_per_topic))
        fallback.append(_digest_section_plain(section, max_per_topic))
    if view.countdowns:
        blocks.append(Divider())
        blocks.append(_countdown_paragraph(view.countdowns, "Countdowns"))
        fallback.append("Countdowns: " + "; ".join(_countdown_plain(c) for c in view.countdowns))
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="digest")


def _section_heading(section: DigestSection) -> list[Span]:
    marker = change_marker(section.count, section.previous_count)
    return [
        Strong(clean(section.label, 80)),
        Text(f" — {plural(section.count, 'story', 'stories')} ({marker})"),
    ]


def _digest_section(section: DigestSection, now: datetime, limit: int) -> list[Block]:
    shown = section.stories[:limit]
    more = section.more + len(section.stories) - len(shown)
    lines = [_section_heading(section)] + [_story_line(s, now) for s in shown]
    if more > 0:
        lines.append([Text(f"…and {more} more")])
    return [_lines_paragraph(lines)]


def _digest_section_plain(section: DigestSection, limit: int) -> str:
    shown = section.stories[:limit]
    more = section.more + len(section.stories) - len(shown)
    marker = change_marker(section.count, section.previous_count)
    head = f"{clean(section.label, 80)} ({section.count}, {marker}): "
    titles = "; ".join(clean(s.title, 120) for s in shown)
    return head + titles + (f"; and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- countdowns


def _countdown_when(line: CountdownLine) -> str:
    cd = line.countdown
    if cd.tentative or cd.end != cd.start:
        return f"{_day(cd.start)} – {_day(cd.end)}"
    return _day(cd.start)


def _day(value: date) -> str:
    return value.strftime("%d %b %Y").lstrip("0")


def _countdown_spans(line: CountdownLine) -> list[Span]:
    cd = line.countdown
    spans: list[Span] = [Strong(clean(cd.name, 120))]
    if cd.where:
        spans.append(Text(f" ({clean(cd.where, 80)})"))
    spans.append(Text(f" — {clean(line.phrase, 120)}{SEP}{_countdown_when(line)}"))
    if cd.tentative:
        spans.append(Text(f"{SEP}tentative"))
    return spans


def _countdown_plain(line: CountdownLine) -> str:
    cd = line.countdown
    where = f" ({clean(cd.where, 80)})" if cd.where else ""
    tent = ", tentative" if cd.tentative else ""
    return (
        f"{clean(cd.name, 120)}{where}: {clean(line.phrase, 120)} ({_countdown_when(line)}{tent})"
    )


def _countdown_paragraph(lines: Sequence[CountdownLine], heading: str) -> Paragraph:
    rows: list[list[Span]] = [[Strong(heading)]]
    rows += [[Text(BULLET), *_countdown_spans(line)] for line in lines]
    return _lines_paragraph(rows)


def render_countdown(line: CountdownLine) -> Message:
    """A milestone post for one countdown ("COP29 — in 7 days")."""
    cd = line.countdown
    blocks: list[Block] = [Paragraph((Text("⏳ "), *_countdown_spans(line)))]
    if cd.note:
        blocks.append(Context((Text(clean(cd.note, 300)),)))
    return Message(
        fallback=_fallback([_countdown_plain(line)]), blocks=tuple(blocks), kind="countdown"
    )


def render_countdown_list(
    lines: Sequence[CountdownLine],
    changes: Sequence[ChangeView] = (),
    past: Sequence[CountdownLine] = (),
) -> Message:
    """All countdowns, each with its id (for ``countdown remove ID``), then the changes the
    news proposes for them (with the commands that confirm or dismiss each), then past ones."""
    if not lines and not changes and not past:
        text = "No countdowns yet. Add one with `countdown add NAME YYYY-MM-DD`."
        return Message(fallback=text, blocks=(Paragraph((Text(text),)),), kind="countdown")
    blocks: list[Block] = [Header("Countdowns")]
    fallback = ["Countdowns:"]
    if lines:
        rows = [
            [Text(BULLET), *_countdown_spans(line), Text(f"{SEP}#{line.countdown.id}")]
            for line in lines[:LIST_MAX]
        ]
        blocks.append(_lines_paragraph(rows))
        if len(lines) > LIST_MAX:
            blocks.append(_more_context(len(lines) - LIST_MAX))
        fallback += [f"- {_countdown_plain(x)} #{x.countdown.id}" for x in lines]
    else:
        blocks.append(Paragraph((Text("No upcoming countdowns."),)))
        fallback.append("No upcoming countdowns.")
    if changes:
        blocks += [Header("Changes proposed by the news"), _changes_paragraph(changes)]
        fallback.append("Changes proposed by the news:")
        fallback += [f"- {_change_plain(v)}" for v in changes[:LIST_MAX]]
    if past:
        rows = [
            [Text(BULLET), *_countdown_spans(line), Text(f"{SEP}past{SEP}#{line.countdown.id}")]
            for line in past[:PAST_MAX]
        ]
        blocks += [Header("Past"), _lines_paragraph(rows)]
        fallback.append("Past:")
        fallback += [f"- {_countdown_plain(x)} past #{x.countdown.id}" for x in past[:PAST_MAX]]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="countdown")


def _change_commands(view: ChangeView) -> str:
    return f"countdown confirm {view.change_id} · countdown dismiss {view.change_id}"


def _change_plain(view: ChangeView) -> str:
    return (
        f"{clean(view.countdown_name, 120)} #{view.countdown_id}: "
        f"{clean(view.proposal, 300)} (now: {clean(view.current, 120)}) — "
        f"{_change_commands(view)}"
    )


def _changes_paragraph(changes: Sequence[ChangeView]) -> Paragraph:
    rows: list[list[Span]] = []
    for view in changes[:LIST_MAX]:
        rows.append(
            [
                Text(BULLET),
                Strong(clean(view.countdown_name, 120)),
                Text(f" #{view.countdown_id}: {clean(view.proposal, 300)}"),
                Text(f" (now: {clean(view.current, 120)}){SEP}"),
                Strong(f"countdown confirm {view.change_id}"),
                Text(SEP),
                Strong(f"countdown dismiss {view.change_id}"),
            ]
        )
    return _lines_paragraph(rows)


def render_change_proposal(view: ChangeView) -> Message:
    """A change the news suggests for a countdown, posted in the countdown's thread with
    Confirm / Dismiss buttons and the equivalent commands (platforms without buttons)."""
    name = clean(view.countdown_name, 120)
    proposal = clean(view.proposal, 300)
    current = clean(view.current, 120)
    blocks: list[Block] = [
        Paragraph(
            (
                Text("📝 The news suggests a change to "),
                Strong(name),
                Text(f" (#{view.countdown_id}): {proposal}"),
            )
        ),
        Context((Text(f"Now: {current}. Nothing changes until someone confirms."),)),
    ]
    if view.item_url:
        blocks.append(
            Context((Text("From "), _title_link(view.item_url, view.item_title or view.item_url)))
        )
    blocks += [
        Actions(
            (
                Button("Confirm", "confirm_change", value=str(view.change_id), style="primary"),
                Button("Dismiss", "dismiss_change", value=str(view.change_id)),
            )
        ),
        Context(
            (
                Text("Or send "),
                Strong(f"countdown confirm {view.change_id}"),
                Text(" or "),
                Strong(f"countdown dismiss {view.change_id}"),
            )
        ),
    ]
    fallback = [
        f"The news suggests a change to {name} (#{view.countdown_id}): {proposal}",
        f"Now: {current}. Nothing changes until someone confirms.",
        f"Confirm: countdown confirm {view.change_id} · Dismiss: countdown dismiss "
        f"{view.change_id}",
    ]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="proposal")


# --------------------------------------------------------------------------- status


def _status_row(row: StatusRow, now: datetime) -> list[Span]:
    marker = change_marker(row.count_7d, row.previous_7d)
    spans: list[Span] = [
        Strong(clean(row.label, 80)),
        Text(f" — 7 days: {row.count_7d} ({marker})"),
    ]
    if row.days_since_engagement is not None:
        spans.append(Text(f"{SEP}engagement {_days_ago(row.days_since_engagement)}"))
    if row.latest is not None:
        spans += [Text("\n    Latest: "), _title_link(row.latest.url, row.latest.title)]
        bits = [clean(row.latest_outlet, 80)] if row.latest_outlet else []
        bits.append(age_phrase(row.latest.last_seen, now))
        spans.append(Text(" — " + SEP.join(bits)))
    else:
        spans.append(Text("\n    No stories yet"))
    return spans


def _days_ago(days: int) -> str:
    if days <= 0:
        return "today"
    return f"{plural(days, 'day')} ago"


def render_status(view: StatusView) -> Message:
    """The status board: one line per topic with 7-day counts and the latest story."""
    blocks: list[Block] = [Header("US–China status board")]
    head: list[Span] = [Text("As of "), When(view.now, "datetime")]
    fallback = ["US–China status board (" + utc_text(view.now) + ")"]
    if view.days_since_direct_engagement is not None:
        what = f" ({clean(view.last_engagement, 120)})" if view.last_engagement else ""
        phrase = f"Last direct engagement{what}: {_days_ago(view.days_since_direct_engagement)}"
        head.append(Text(SEP + phrase))
        fallback.append(phrase)
    blocks.append(Context(tuple(head)))
    for row in view.rows:
        blocks.append(Paragraph(tuple(_status_row(row, view.now))))
        latest = f": {clean(row.latest.title, 120)}" if row.latest else ""
        marker = change_marker(row.count_7d, row.previous_7d)
        fallback.append(f"- {clean(row.label, 80)} {row.count_7d} ({marker}){latest}")
    if not view.rows:
        blocks.append(Paragraph((Text("No topics to show."),)))
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="status")


def render_status_detail(view: StatusDetailView) -> Message:
    """The status of one topic: latest stories, countdowns, both sides' accounts."""
    label = clean(view.label, 80)
    blocks: list[Block] = [Header(f"Status: {label}")]
    fallback = [f"Status: {label}"]
    if view.last_engagement_title:
        last = clean(view.last_engagement_title, 200)
        blocks.append(Context((Text(f"Last engagement: {last}"),)))
        fallback.append(f"Last engagement: {last}")
    if view.stories:
        rows = [[Strong("Latest stories")]] + [_story_line(s, None) for s in view.stories[:5]]
        blocks.append(_lines_paragraph(rows))
        fallback += [_entry_plain(s) for s in view.stories[:5]]
    else:
        blocks.append(Paragraph((Text("No stories yet on this topic."),)))
        fallback.append("No stories yet on this topic.")
    if view.countdowns:
        blocks.append(_countdown_paragraph(view.countdowns, "Countdowns"))
        fallback += [_countdown_plain(c) for c in view.countdowns]
    if view.accounts:
        blocks.append(Divider())
        blocks.append(Paragraph((Strong("Side by side"),)))
        blocks.append(Fields(tuple(_account_pair(a) for a in view.accounts[:10])))
        fallback += [f"{clean(s, 10)} — {clean(o, 80)}: {clean(h)}" for s, o, h in view.accounts]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="status")


def _account_pair(account: tuple[str, str, str]) -> tuple[str, tuple[Span, ...]]:
    side, outlet, headline = account
    name = f"{clean(side, 10)} — {clean(outlet, 80)}"
    if headline.startswith(("http://", "https://")) and " " not in headline.strip():
        return name, (Link(headline.strip(), clean(outlet, 80) or "article"),)
    return name, (Text(clean(headline)),)


# --------------------------------------------------------------------------- lists


def render_latest(
    entries: Sequence[Story | Item], topic_label: str | None, now: datetime
) -> Message:
    """The newest stories (or items), optionally for one topic."""
    heading = f"Latest: {clean(topic_label, 80)}" if topic_label else "Latest US–China news"
    if not entries:
        text = f"Nothing yet for {clean(topic_label, 80)}." if topic_label else "Nothing yet."
        return Message(fallback=text, blocks=(Paragraph((Text(text),)),), kind="latest")
    shown = entries[:LIST_MAX]
    blocks: list[Block] = [Header(heading), _lines_paragraph([_entry_line(e, now) for e in shown])]
    if len(entries) > LIST_MAX:
        blocks.append(_more_context(len(entries) - LIST_MAX))
    fallback = [heading] + [_entry_plain(e) for e in shown]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="latest")


def render_search(query: str, results: Sequence[Story | Item], now: datetime) -> Message:
    """Search results for ``query`` (user input, treated as untrusted)."""
    shown_query = clean(query, 100)
    if not results:
        text = f"No stories match “{shown_query}”."
        return Message(fallback=text, blocks=(Paragraph((Text(text),)),), kind="search")
    heading = f"Search: “{shown_query}”"
    shown = results[:LIST_MAX]
    blocks: list[Block] = [
        Header(heading),
        Context((Text(plural(len(results), "result")),)),
        _lines_paragraph([_entry_line(e, now) for e in shown]),
    ]
    if len(results) > LIST_MAX:
        blocks.append(_more_context(len(results) - LIST_MAX))
    fallback = [heading] + [_entry_plain(e) for e in shown]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="search")


def render_topics(topics: Sequence[TopicEntry | tuple[str, str, str]]) -> Message:
    """The topic list: id, label and what it covers."""
    entries = [t if isinstance(t, TopicEntry) else TopicEntry(*t) for t in topics]
    rows: list[list[Span]] = []
    for entry in entries:
        row: list[Span] = [Text(BULLET), Strong(clean(entry.label, 80)), Text(f" ({entry.id})")]
        if entry.description:
            row.append(Text(" — " + clean(entry.description, 200)))
        rows.append(row)
    blocks: list[Block] = [Header("Topics")]
    blocks.append(_lines_paragraph(rows) if rows else Paragraph((Text("No topics configured."),)))
    blocks.append(Context((Text("Subscribe with `subscribe TOPIC...`, e.g. `subscribe taiwan`."),)))
    fallback = ["Topics:"] + [f"- {e.id}: {clean(e.label, 80)}" for e in entries]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="topics")


def render_subscriptions(rows: Sequence[SubscriptionRow]) -> Message:
    """What a channel (or person) is subscribed to, with modes and mutes."""
    if not rows:
        text = "No subscriptions here yet. Try `subscribe taiwan military`."
        return Message(fallback=text, blocks=(Paragraph((Text(text),)),), kind="subscriptions")
    lines: list[list[Span]] = []
    fallback = ["Subscriptions:"]
    for row in rows:
        label = "All topics" if row.topic == "*" else clean(row.label, 80)
        line: list[Span] = [Text(BULLET), Strong(label), Text(f" — {row.mode}")]
        plain = f"- {label} — {row.mode}"
        if row.digest_time:
            line.append(Text(f"{SEP}at {clean(row.digest_time, 60)}"))
            plain += f" at {clean(row.digest_time, 60)}"
        if row.where:
            line.append(Text(f"{SEP}{clean(row.where, 80)}"))
            plain += f" ({clean(row.where, 80)})"
        if row.muted_until is not None:
            line += [Text(f"{SEP}muted until "), When(row.muted_until, "datetime")]
            plain += f", muted until {utc_text(row.muted_until)}"
        lines.append(line)
        fallback.append(plain)
    blocks: list[Block] = [Header("Subscriptions"), _lines_paragraph(lines[:LIST_MAX])]
    if len(lines) > LIST_MAX:
        blocks.append(_more_context(len(lines) - LIST_MAX))
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="subscriptions")


def _interval(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _source_line(row: SourceRow) -> tuple[list[Span], str]:
    source: Source = row.source
    spec, state = source.spec, source.state
    shown = shown_url(spec.url)
    name = clean(spec.name, 100) or shown
    link: Span = Link(spec.url, name) if shown == spec.url else Text(f"{name} ({shown})")
    line: list[Span] = [Text(f"{BULLET}#{source.id} "), link]
    bits = [spec.type, f"every {_interval(spec.interval_s)}"]
    if spec.official:
        bits.append("official")
    if not spec.enabled:
        bits.append("disabled")
    if row.items_7d is not None:
        bits.append(f"{row.items_7d} items in 7 days")
    line.append(Text(" — " + SEP.join(bits)))
    plain = f"- #{source.id} {name} <{shown}> {', '.join(bits)}"
    if state.failures:
        error = clean(state.last_error, 160) or "error"
        line.append(Text(f"{SEP}failing ({state.failures}): {error}"))
        plain += f", failing ({state.failures}): {error}"
    elif state.last_success is not None:
        line += [Text(f"{SEP}ok "), When(state.last_success, "datetime")]
        plain += f", ok {utc_text(state.last_success)}"
    return line, plain


def render_sources(rows: Sequence[SourceRow | Source]) -> Message:
    """Configured sources with their health."""
    entries = [r if isinstance(r, SourceRow) else SourceRow(r) for r in rows]
    if not entries:
        text = "No sources configured. Add one with `sources add URL`."
        return Message(fallback=text, blocks=(Paragraph((Text(text),)),), kind="sources")
    pairs = [_source_line(r) for r in entries]
    blocks: list[Block] = [Header("Sources"), _lines_paragraph([p[0] for p in pairs[:LIST_MAX]])]
    if len(pairs) > LIST_MAX:
        blocks.append(_more_context(len(pairs) - LIST_MAX))
    fallback = ["Sources:"] + [p[1] for p in pairs]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="sources")


# --------------------------------------------------------------------------- replies


def render_help(usage_lines: Sequence[str]) -> Message:
    """The command summary, one usage line each."""
    rows: list[list[Span]] = [[Text(BULLET + clean(u, 200))] for u in usage_lines]
    blocks: list[Block] = [Header("uschina-bot commands")]
    if rows:
        blocks.append(_lines_paragraph(rows))
    fallback = ["uschina-bot commands:"] + [f"- {clean(u, 200)}" for u in usage_lines]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="help")


def render_error(message: str, usage: str = "") -> Message:
    """A short error with the usage line (never a stack trace)."""
    text = clean(message, 500) or "Something went wrong."
    blocks: list[Block] = [Paragraph((Text("⚠️ "), Text(text)))]
    lines = [text]
    if usage:
        blocks.append(Context((Text("Usage: "), Text(clean(usage, 500)))))
        lines.append(f"Usage: {clean(usage, 500)}")
    return Message(fallback=_fallback(lines), blocks=tuple(blocks), kind="error")


def render_ok(text: str) -> Message:
    """A short confirmation."""
    body = clean(text, 1000)
    return Message(fallback=body, blocks=(Paragraph((Text("✅ "), Text(body))),), kind="ok")


def render_proposal(view: ProposalView) -> Message:
    """Offer to track a detected dated event as a countdown."""
    label = clean(view.label, 120)
    window = clean(view.window_phrase, 120)
    item = view.item
    outlet = clean(item.source_name, 80)
    source: list[Span] = [Text("From "), _title_link(item.url, item.title)]
    if outlet:
        source.append(Text(f"{SEP}{outlet}"))
    blocks: list[Block] = [
        Paragraph((Text("📅 Track this? "), Strong(label), Text(f" — {window}"))),
        Context(tuple(source)),
        Actions(
            (
                Button(
                    "Track this", "track_proposal", value=str(view.proposal_id), style="primary"
                ),
                Button("Dismiss", "dismiss_proposal", value=str(view.proposal_id)),
            )
        ),
    ]
    fallback = [f"Track this? {label} — {window}", f"From: {clean(item.title)} {item.url}"]
    return Message(fallback=_fallback(fallback), blocks=tuple(blocks), kind="proposal")


__all__ = [
    "age_phrase",
    "change_marker",
    "clean",
    "render_alert",
    "render_burst_summary",
    "render_change_proposal",
    "render_countdown",
    "render_countdown_list",
    "render_digest",
    "render_error",
    "render_help",
    "render_latest",
    "render_ok",
    "render_proposal",
    "render_search",
    "render_sources",
    "render_status",
    "render_status_detail",
    "render_subscriptions",
    "render_topics",
]
