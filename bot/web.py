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

from storage.db import safe_url

if TYPE_CHECKING:
    from bot.app import App


async def health_report(app: App, scheduler_state: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Database, scheduler and source health; ``status`` is "ok" only when all are fine."""
    db_ok = await app.store.db.ping()
    report: dict[str, Any] = {
        "database": {"ok": db_ok, "url": safe_url(app.settings.database_url)},
        "scheduler": scheduler_state(),
    }
    if db_ok:
        sources = await app.store.sources.all(enabled_only=True)
        failing = [s for s in sources if s.state.failures > 0]
        report["sources"] = {
            "enabled": len(sources),
            "failing": len(failing),
            "never_polled": sum(s.state.last_success is None for s in sources),
        }
        report["deliveries"] = await app.store.deliveries.counts()
    healthy = db_ok and report["scheduler"].get("running", False)
    report["status"] = "ok" if healthy else "degraded"
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
        from bot.chat.slack.http import slack_routes

        routes.extend(slack_routes(app))
    if app.settings.teams_commands_enabled:
        from bot.chat.teams.endpoint import teams_routes

        routes.extend(teams_routes(app))
    return routes
