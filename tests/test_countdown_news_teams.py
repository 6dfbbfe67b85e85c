"""Teams has no buttons that call back: a change the news proposes for a countdown arrives as
a card naming the commands, and ``@uschina countdown confirm|dismiss ID`` acts on it."""

from __future__ import annotations

import json
from datetime import date

from test_countdown_jobs import expected_call, news
from test_teams_endpoint import Harness, fake, harness  # noqa: F401  (fixtures)

from bot.chat.teams.cards import to_teams
from bot.domain.codec import message_from_dict
from jobs.countdown import propose_events


async def test_teams_card_names_the_commands_and_the_commands_decide(
    harness: Harness,  # noqa: F811  (the fixture imported above)
) -> None:
    app, now = harness.app, harness.app.now()
    await harness.say('countdown add "Biden–Xi call" 2024-09-01..2024-10-31')
    call = await app.store.countdowns.by_name("Biden–Xi call")
    assert call is not None and call.tentative

    oct_24 = expected_call(date(2024, 10, 24), date(2024, 10, 24), "exact")
    assert await propose_events(app.countdown_ports(), [news(1, oct_24)], now) == 1
    assert await app.store.countdowns.get(call.id) == call  # nothing applied
    (change,) = await app.store.countdowns.changes()
    channel = await app.store.channels.by_name("china-desk")
    assert channel is not None
    posts = {d.kind: d for d in await app.store.deliveries.for_channel(channel.id)}
    card = json.dumps(to_teams(message_from_dict(posts["followup"].payload)), ensure_ascii=False)
    assert "Confirmed for 24 Oct 2024" in card  # markdown-escaped in the card
    assert f"countdown confirm {change.id}" in card and f"countdown dismiss {change.id}" in card
    assert posts["followup"].thread_key == posts["countdown"].thread_key == f"countdown:{call.id}"

    listed = await harness.say("countdown")
    assert f"countdown confirm {change.id}" in listed
    assert "applied" in await harness.say(f"countdown confirm {change.id}")
    assert "already applied" in await harness.say(f"countdown confirm {change.id}")
    confirmed = await app.store.countdowns.get(call.id)
    assert confirmed is not None
    assert (confirmed.start, confirmed.end, confirmed.tentative) == (
        date(2024, 10, 24),
        date(2024, 10, 24),
        False,
    )

    nov_14 = expected_call(date(2024, 11, 14), date(2024, 11, 14), "exact")
    assert await propose_events(app.countdown_ports(), [news(2, nov_14)], now) == 1
    (moved,) = await app.store.countdowns.changes()
    assert "will not be proposed again" in await harness.say(f"countdown dismiss {moved.id}")
    assert await propose_events(app.countdown_ports(), [news(3, nov_14)], now) == 0
    assert await app.store.countdowns.get(call.id) == confirmed
    assert "There is no proposed change" in await harness.say("countdown confirm 99")
