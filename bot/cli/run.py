"""``uschina-bot run``: the service (HTTP server, scheduler, delivery) until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from bot.cli._common import with_app
from bot.domain.errors import ConfigError
from bot.logging_setup import configure_logging

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("uschina_bot")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the service: HTTP endpoints, scheduled polls, alerts, digests, countdowns",
        description=(
            "Run the service. With no chat credentials it runs on SQLite and prints alerts, "
            "digests and countdowns to the console. Slack uses Socket Mode when SLACK_APP_TOKEN "
            "is set, else HTTP mode at POST /slack/events. Stop with Ctrl-C."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, help="HTTP port (default USCHINA_BOT_PORT or 3000)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(handler=handle)


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def check_bindable(host: str, port: int) -> None:
    """Fail with one clear line (not a traceback) when the HTTP port cannot be used."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = "is in use" if exc.errno == 98 else f"cannot be used ({exc.strerror})"
            raise ConfigError(
                f"port {port} on {host} {why}: choose another with --port or USCHINA_BOT_PORT"
            ) from exc


def unreachable_channels(app: App) -> list[str]:
    """Configured channels whose platform has no credentials: their posts wait in the outbox."""
    s = app.settings
    lines = []
    for ch in s.file.channels:
        if ch.platform == "slack" and not s.slack_enabled:
            lines.append(
                f"  warning:   channel {ch.name} uses Slack but SLACK_BOT_TOKEN is unset: "
                "its posts wait in the outbox until Slack is configured"
            )
    return lines


def banner(app: App, host: str, port: int) -> str:
    from storage.db import safe_url  # heavy: sqlalchemy

    s = app.settings
    if s.slack_enabled:
        slack = (
            "Socket Mode"
            if s.slack_app_token
            else f"HTTP mode (POST http://{host}:{port}/slack/events)"
        )
    else:
        slack = "off (no SLACK_BOT_TOKEN)"
    teams = "on" if s.teams_commands_enabled else "off (no TEAMS_OUTGOING_SECRET)"
    console = (
        ""
        if s.slack_enabled or s.file.channels
        else "\n  output:    console (no chat credentials: alerts are printed here)"
    )
    return (
        "uschina-bot is running\n"
        f"  database:  {safe_url(s.database_url)}\n"
        f"  config:    {s.config_path or 'built-in defaults'}\n"
        f"  slack:     {slack}\n"
        f"  teams:     webhooks for configured channels; commands {teams}\n"
        f"  health:    http://{host}:{port}/healthz   metrics: http://{host}:{port}/metrics"
        f"{console}\n"
        + "".join(line + "\n" for line in unreachable_channels(app))
        + "  Stop with Ctrl-C."
    )


def handle(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)

    async def body(app: App) -> int:
        problem = app.settings.slack_problem()
        if problem:
            raise ConfigError(problem)
        port = args.port or app.settings.port
        check_bindable(args.host, port)
        return await serve(app, host=args.host, port=port)

    return with_app(args, body)


SOCKET_MODE_START_TIMEOUT_S = 30.0


async def _start_socket_mode(app: App, stop: asyncio.Event) -> Any:
    """Connect Socket Mode before anything else starts; a refused token stops start-up.

    Ctrl-C during the connection attempt stops it too (``stop`` is then set).
    """
    if not (app.settings.slack_enabled and app.settings.slack_app_token is not None):
        return None
    from bot.chat.slack.http import start_socket_mode  # heavy: slack_bolt

    connect = asyncio.create_task(start_socket_mode(app.chat, app.settings))
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait(
        {connect, waiter}, timeout=SOCKET_MODE_START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    waiter.cancel()
    if connect in done:
        return connect.result()
    connect.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await connect
    if stop.is_set():
        return None
    raise ConfigError(
        f"Slack Socket Mode did not connect within {SOCKET_MODE_START_TIMEOUT_S:.0f} s "
        "(check SLACK_APP_TOKEN and the network)"
    )


def _server_class() -> type:
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn without its own signal handling: ``serve`` owns Ctrl-C and SIGTERM."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


async def serve(app: App, *, host: str, port: int) -> int:
    import uvicorn

    _QuietServer = _server_class()
    from bot.web import build_web, chat_routes  # heavy: starlette
    from jobs.scheduler import Scheduler  # heavy: apscheduler

    scheduler = Scheduler(app.scheduler_ports())
    web = build_web(app, scheduler_state=scheduler.state, extra_routes=chat_routes(app))
    config = uvicorn.Config(web, host=host, port=port, log_level="warning", lifespan="off")
    server = _QuietServer(config)
    stop = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, sig, stop, received)
    socket_mode = await _start_socket_mode(app, stop)
    if stop.is_set():
        return 130
    print(banner(app, host, port), file=sys.stderr, flush=True)
    scheduler.start()
    server_task = asyncio.create_task(server.serve())
    stop_task = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({server_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True  # stop accepting; uvicorn finishes requests in flight
        await scheduler.shutdown()
        if socket_mode is not None:
            await socket_mode.close_async()
        await server_task
        stop_task.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if server_task.exception():
        raise server_task.exception()  # type: ignore[misc]
    why = f" on {received[0]}" if received else ""
    log.info("uschina-bot stopped cleanly%s", why)
    return 0


def _on_signal(sig: signal.Signals, stop: asyncio.Event, received: list[str]) -> None:
    """SIGINT/SIGTERM: stop once (a second signal while stopping changes nothing)."""
    if not received:
        received.append(sig.name)
    stop.set()
