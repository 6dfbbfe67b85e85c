"""The ASGI app of ``run``: chat endpoints plus ``/healthz`` and ``/metrics``.

Starlette is imported here and in the chat endpoint modules only. Chat routes are mounted
only when their platform is configured, so an unconfigured endpoint answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.chat.teams.endpoint import teams_routes
from storage.db import safe_url

if TYPE_CHECKING:
    from bot.app import App
    from bot.domain.models import Source


SOURCES_DEGRADED_SHARE = 0.5  # more than this share of polled sources failing: degraded


def source_health(sources: list[Source]) -> dict[str, Any]:
    """Counts over the enabled sources. ``polled`` have had at least one attempt; of those,
    ``failing`` failed their last attempt and ``ok`` did not; ``never_polled`` have had none
    (``polled`` + ``never_polled`` = ``enabled``). ``degraded`` when more than half of the
    polled sources are failing."""
    polled = [s for s in sources if s.state.last_attempt is not None or s.state.failures > 0]
    failing = [s for s in polled if s.state.failures > 0]
    return {
        "enabled": len(sources),
        "polled": len(polled),
        "ok": len(polled) - len(failing),
        "failing": len(failing),
        "never_polled": len(sources) - len(polled),
        "degraded": bool(polled) and len(failing) > SOURCES_DEGRADED_SHARE * len(polled),
    }


async def health_report(app: App, scheduler_state: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Database, scheduler and source health; ``status`` is "ok" only when the database is
    reachable, the scheduler runs and most polled sources succeed, else "degraded" with the
    ``reasons``."""
    db_ok = await app.store.db.ping()
    report: dict[str, Any] = {
        "database": {"ok": db_ok, "url": safe_url(app.settings.database_url)},
        "scheduler": scheduler_state(),
    }
    reasons: list[str] = []
    if not db_ok:
        reasons.append("database unreachable")
    if not report["scheduler"].get("running", False):
        reasons.append("scheduler not running")
    if db_ok:
        report["sources"] = source_health(await app.store.sources.all(enabled_only=True))
        if report["sources"]["degraded"]:
            sources = report["sources"]
            reasons.append(f"{sources['failing']} of {sources['polled']} polled sources failing")
        report["deliveries"] = await app.store.deliveries.counts()
    report["status"] = "degraded" if reasons else "ok"
    report["reasons"] = reasons
    return report


def build_web(
    app: App,
    *,
    scheduler_state: Callable[[], dict[str, Any]] = lambda: {"running": False},
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        report = await health_report(app, scheduler_state)
        return JSONResponse(report, status_code=200 if report["database"]["ok"] else 503)

    async def metrics(request: Request) -> Response:
        counts = await app.store.deliveries.counts() if await app.store.db.ping() else {}
        for status, n in counts.items():
            app.metrics.set(f"uschina_bot_outbox_{status}", n)
        return PlainTextResponse(
            app.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    routes.extend(extra_routes or [])
    return Starlette(routes=routes)


def chat_routes(app: App) -> list[BaseRoute]:
    """The Slack and Teams endpoints that the settings enable."""
    routes: list[BaseRoute] = []
    if app.settings.slack_enabled and app.settings.slack_signing_secret is not None:
        from bot.chat.slack.http import slack_routes  # heavy: slack_bolt

        routes.extend(slack_routes(app.chat, app.settings))
    if app.settings.teams_commands_enabled:
        routes.extend(teams_routes(app.chat, app.settings.teams_outgoing_secret))
    return routes
