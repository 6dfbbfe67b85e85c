"""`uschina-bot run` with no chat credentials: starts, polls, prints alerts, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(180)
def test_run_polls_prints_and_stops_cleanly(tmp_path: Path) -> None:
    with FeedServer(n_feeds=2, items_per_feed=3, formats=("rss2",)) as server:
        config = {
            "sources": [
                {"name": f"local {i}", "url": f.url, "type": "rss", "interval": "10m"}
                for i, f in enumerate(server.feeds)
            ]
        }
        (tmp_path / "uschina-bot.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "USCHINA_BOT_CONFIG": str(tmp_path / "uschina-bot.yaml"),
            "USCHINA_BOT_ALLOW_PRIVATE_NETWORKS": "1",
        }
        for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TEAMS_OUTGOING_SECRET"):
            env.pop(key, None)
        past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        baseline = cli("poll", "--once", "--now", past, env=env)
        assert baseline.returncode == 0, baseline.stderr
        assert "new items: 6" in baseline.stdout  # baseline: stored, nothing alerted
        assert "[console]" not in baseline.stdout
        server.publish(0, n=4)

        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            lines = wait_for_output(proc, "(#0-", timeout=90)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200
            assert health.json()["database"]["ok"] is True
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "stopped cleanly" in err
        printed = "".join(lines) + out
        assert "[console]" in printed
        assert "(#0-" in printed  # a new item of the feed that published


def wait_for_output(proc: subprocess.Popen[str], needle: str, *, timeout: float) -> list[str]:
    """Read the service's stdout until a line contains ``needle`` (an alert's headline).

    Other console posts (a digest whose slot is due at start-up) may come first.
    """
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run exited early: {proc.stderr.read() if proc.stderr else ''}")
        chunk = proc.stdout.readline()
        if chunk:
            lines.append(chunk)
            if needle in chunk:
                return lines
        else:
            time.sleep(0.2)
    raise AssertionError(f"{needle!r} not printed in time: " + "".join(lines))


class HangingFeed:
    """A feed server on 127.0.0.1 whose answers hang until ``release()`` (a poll in flight)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requested = threading.Event()
        self.released = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requested.set()
                outer.released.wait(30)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                self.wfile.write(b"<rss version='2.0'><channel><title>t</title></channel></rss>")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HangingFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_poll_stops_cleanly_with_one_info_line(
    tmp_path: Path, sig: signal.Signals
) -> None:
    with HangingFeed() as feed:
        config = {"sources": [{"name": "hanging", "url": feed.url, "interval": "10m"}]}
        (tmp_path / "uschina-bot.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "USCHINA_BOT_CONFIG": str(tmp_path / "uschina-bot.yaml"),
            "USCHINA_BOT_ALLOW_PRIVATE_NETWORKS": "1",
        }
        for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TEAMS_OUTGOING_SECRET"):
            env.pop(key, None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--port", str(free_port())],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert feed.requested.wait(60), "the service never polled the feed"
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and " ERROR " not in err, err
    stopped = [line for line in err.splitlines() if "stopped cleanly" in line]
    assert stopped == [stopped[0]] and " INFO " in stopped[0] and sig.name in stopped[0]


def test_http_mode_without_signing_secret_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    for key in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "TEAMS_OUTGOING_SECRET"):
        env.pop(key, None)
    env["SLACK_BOT_TOKEN"] = "xoxb-not-used"
    result = cli("run", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("uschina-bot: error:") and "SLACK_SIGNING_SECRET" in line
    assert "xoxb-not-used" not in result.stderr
