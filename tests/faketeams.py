"""A fake Teams Workflows webhook: a real HTTP server on 127.0.0.1 for notifier tests.

Each webhook is ``/workflows/<name>/triggers/manual/paths/invoke?...&sig=<secret>``. The
server records every POST and answers from a per-webhook plan (a queue of statuses, then the
webhook's default, 202 unless told otherwise). A wrong ``sig`` gets 401, like the real service.

    with FakeTeams() as fake:
        url = fake.webhook("desk")              # https-less URL on 127.0.0.1
        fake.plan("desk", 429, 202)             # first post throttled, then accepted
        fake.set_default("gone", 404)
        ...
        fake.accepted("desk")                   # envelopes answered 2xx, in order

Failure modes: ``Answer(200, body="Webhook message delivery failed …")`` (a 200 that did not
post), ``Answer(400, body="… entity too large")``, ``Answer(429, retry_after="2")``,
``Answer(202, action="reset")`` (accepted, then the connection is reset without an answer)
and ``Answer(202, action="late", delay=3)`` (accepted, answered after the client timeout).
A webhook's ``limit`` (``set_limit``) answers 413 to any larger body, like the real cap.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None = None
    body: str = ""
    action: str = ""  # "reset": no answer at all; "late": answer after ``delay`` seconds
    delay: float = 0.0

    @property
    def posted(self) -> bool:
        """Whether Teams would show the message: 2xx without an error text in the body."""
        return 200 <= self.status < 300 and not self.body


@dataclass(frozen=True)
class Post:
    webhook: str
    status: int
    body: bytes
    content_type: str
    posted: bool = True

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _State:
    plans: dict[str, deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    defaults: dict[str, Answer] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _answer(value: int | Answer) -> Answer:
    return value if isinstance(value, Answer) else Answer(value)


class FakeTeams:
    SECRET = "fake-sig-0123456789abcdefghijklmnopqrstuv"

    def __init__(self) -> None:
        self.state = _State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean (and the sig out of it)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")
                name = segments[1] if len(segments) > 1 and segments[0] == "workflows" else ""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                sig = parse_qs(parts.query).get("sig", [""])[0]
                with state.lock:
                    if sig != FakeTeams.SECRET:
                        answer = Answer(401)
                    elif len(body) > state.limits.get(name, 1 << 30):
                        answer = Answer(413, body="request entity too large")
                    elif state.plans[name]:
                        answer = state.plans[name].popleft()
                    else:
                        answer = state.defaults.get(name, Answer(202))
                    state.posts.append(
                        Post(
                            name,
                            answer.status,
                            body,
                            self.headers.get("Content-Type", ""),
                            answer.posted,
                        )
                    )
                if answer.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                if answer.action == "late":
                    time.sleep(answer.delay)
                text = answer.body.encode("utf-8")
                self.send_response(answer.status)
                if answer.retry_after is not None:
                    self.send_header("Retry-After", answer.retry_after)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeTeams:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeTeams:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- scripting

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def webhook(self, name: str, *, sig: str | None = None) -> str:
        """The URL of webhook ``name`` (with the right ``sig`` unless another is given)."""
        return (
            f"{self.base}/workflows/{name}/triggers/manual/paths/invoke"
            f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig or self.SECRET}"
        )

    def plan(self, name: str, *answers: int | Answer) -> None:
        """Answer the next posts to ``name`` with these statuses, in order."""
        with self.state.lock:
            self.state.plans[name].extend(_answer(a) for a in answers)

    def set_limit(self, name: str, size: int) -> None:
        """Answer 413 "request entity too large" to bodies over ``size`` bytes."""
        with self.state.lock:
            self.state.limits[name] = size

    def set_default(self, name: str, answer: int | Answer) -> None:
        with self.state.lock:
            self.state.defaults[name] = _answer(answer)

    # ----------------------------------------------------------------- inspection

    def posts(self, name: str | None = None) -> list[Post]:
        with self.state.lock:
            return [p for p in self.state.posts if name is None or p.webhook == name]

    def accepted(self, name: str | None = None) -> list[dict[str, Any]]:
        """Envelopes the webhook answered with 2xx (what Teams would post), in order."""
        return [p.json for p in self.posts(name) if p.posted]
