"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records what it receives.

Runs aiohttp in its own thread, so a test (or a subprocess it started) can talk to it while the
test blocks or awaits. Point clients at ``fake.api_url`` (``SLACK_API_URL``).

Answers ``auth.test``, ``chat.postMessage``, ``conversations.history``/``replies``/``open``,
``views.publish``, ``users.info``, the ``files_upload_v2`` trio, ``response_url`` posts
(``fake.response_url(name)``) and ``apps.connections.open`` (answers ``socket_url`` when set;
``tokens`` records the bearer token of every call). Misbehaviour on demand:
``rate_limit_every`` (every Nth post gets 429 with ``Retry-After``), ``channel_errors``
(channel -> Slack error code), ``reject_blocks`` (``invalid_blocks`` for posts with blocks),
``post_delay`` (slow posts), ``drop_connection`` (method -> number of calls whose connection
is cut without an answer), and ``plan_posts(*modes)``: the next ``chat.postMessage`` calls
fail in one of the documented ways, in order (see ``PostMode``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


class PostMode:
    """How one scripted ``chat.postMessage`` call ends. ``*_AFTER`` modes post first (the
    message exists in the channel) and then fail, the ambiguous cases a client cannot tell
    from a failure before posting."""

    OK = "ok"
    RESET_BEFORE = "reset_before"  # connection cut, nothing posted
    RESET_AFTER = "reset_after"  # posted, then the connection is reset without an answer
    LATE = "late"  # posted, answered only after ``late_by`` seconds (past the client timeout)
    RATELIMITED = "429"  # 429 with Retry-After, nothing posted

    @staticmethod
    def error(code: str) -> str:
        """``{"ok": false, "error": code}``, nothing posted (channel_not_found, invalid_auth…)."""
        return f"error:{code}"

    @staticmethod
    def error_after(code: str) -> str:
        """Posted, then answered ``{"ok": false, "error": code}`` (internal_error, fatal_error)."""
        return f"error_after:{code}"


@dataclass
class Post:
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None
    ts: str
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def delivery_id(self) -> int | None:
        payload = (self.metadata or {}).get("event_payload") or {}
        value = payload.get("delivery_id")
        return int(value) if value is not None else None

    def everything(self) -> str:
        """Text and blocks as one JSON string (for "is this escaped?" checks)."""
        return json.dumps({"text": self.text, "blocks": self.blocks}, ensure_ascii=False)


class FakeSlack:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.home_views: list[tuple[str, dict[str, Any]]] = []
        self.uploads: list[dict[str, Any]] = []
        self.rate_limit_every: int | None = None
        self.retry_after: int = 1
        self.channel_errors: dict[str, str] = {}
        self.reject_blocks = False
        self.post_delay = 0.0
        self.drop_connection: dict[str, int] = {}  # method -> how many calls to cut off
        self.post_plan: list[str] = []  # PostMode values for the next posts, in order
        self.late_by = 3.0
        self.admins: set[str] = set()
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self.tokens: list[tuple[str, str]] = []  # (method, bearer token) per call
        self._post_count = 0
        self.received = 0  # posts whose request arrived (counted before any delay)
        self._last_ts = 0.0
        self._files = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base}/respond/{name}"

    def start(self) -> FakeSlack:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Slack did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def plan_posts(self, *modes: str) -> None:
        with self.lock:
            self.post_plan.extend(modes)

    # ----------------------------------------------------------------- queries

    def posts_for(self, channel: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.channel == channel]

    def delivery_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        with self.lock:
            for post in self.posts:
                if post.delivery_id is not None:
                    counts[post.delivery_id] = counts.get(post.delivery_id, 0) + 1
        return counts

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for name, args in self.calls if name == method]

    async def wait_for(self, predicate: Any, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)

    # ----------------------------------------------------------------- handlers

    @staticmethod
    async def _args(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body and request.content_type == "application/json":
            args.update(json.loads(body))
        elif body:
            args.update(dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
        for key in ("blocks", "metadata", "view", "files"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            self.calls.append((method, args))
            self.tokens.append((method, bearer))
            drop = method in self.drop_connection and self.drop_connection[method] > 0
            if drop:
                self.drop_connection[method] -= 1
        if drop and request.transport is not None:
            request.transport.close()  # the client sees a dropped connection, no answer
            raise web.HTTPInternalServerError()
        if method == "chat.postMessage":
            with self.lock:
                mode = self.post_plan.pop(0) if self.post_plan else PostMode.OK
            if mode != PostMode.OK:
                return await self._scripted_post(request, args, mode)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result: web.Response = await handler(args)
        return result

    async def _scripted_post(
        self, request: web.Request, args: dict[str, Any], mode: str
    ) -> web.Response:
        with self.lock:
            self.received += 1
        if mode == PostMode.RATELIMITED:
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if mode.startswith("error:"):
            return self._error(mode.removeprefix("error:"))
        if mode != PostMode.RESET_BEFORE:
            self._record(args)
        if mode in (PostMode.RESET_BEFORE, PostMode.RESET_AFTER) and request.transport:
            request.transport.abort()  # a reset: the client gets no answer at all
            raise web.HTTPInternalServerError()
        if mode == PostMode.LATE:
            await asyncio.sleep(self.late_by)
            return self._ok(ts="0")
        return self._error(mode.removeprefix("error_after:"))

    def _record(self, args: dict[str, Any]) -> Post:
        channel = str(args.get("channel", ""))
        post = Post(
            channel=channel,
            text=str(args.get("text", "")),
            blocks=args.get("blocks"),
            thread_ts=args.get("thread_ts"),
            metadata=args.get("metadata"),
            ts=self._next_ts(),
            raw=args,
        )
        with self.lock:
            self.posts.append(post)
        return post

    async def _respond(self, request: web.Request) -> web.Response:
        data = json.loads(await request.read() or b"{}")
        with self.lock:
            self.responses.append((request.match_info["name"], data))
        return web.Response(text="ok", content_type="text/plain")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self.lock:
            self.uploads.append({"file_id": request.match_info["file_id"], "size": len(body)})
        return web.Response(text="OK - 1", content_type="text/plain")

    @staticmethod
    def _ok(**data: Any) -> web.Response:
        return web.json_response({"ok": True, **data})

    @staticmethod
    def _error(code: str, status: int = 200) -> web.Response:
        return web.json_response({"ok": False, "error": code}, status=status)

    async def _m_auth_test(self, args: dict[str, Any]) -> web.Response:
        return self._ok(
            url="https://fake.slack.invalid/",
            team="Fake",
            user="uschina",
            team_id="T0FAKE",
            user_id="UBOT",
            bot_id="BBOT",
        )

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        with self.lock:
            self.received += 1
        if self.post_delay:
            await asyncio.sleep(self.post_delay)
        channel = str(args.get("channel", ""))
        with self.lock:
            self._post_count += 1
            count = self._post_count
            error = self.channel_errors.get(channel)
        if self.rate_limit_every and count % self.rate_limit_every == 0:
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if error:
            return self._error(error)
        if self.reject_blocks and args.get("blocks"):
            return self._error("invalid_blocks")
        post = self._record(args)
        return self._ok(channel=channel, ts=post.ts, message={"ts": post.ts, "text": post.text})

    def _next_ts(self) -> str:
        """Wall-clock based, strictly increasing message timestamps (like Slack's ``ts``)."""
        with self.lock:
            value = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = value
        return f"{value:.6f}"

    def _message_json(self, post: Post, with_meta: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": post.ts, "text": post.text}
        if post.thread_ts:
            data["thread_ts"] = post.thread_ts
        if with_meta and post.metadata:
            data["metadata"] = post.metadata
        return data

    async def _m_conversations_history(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel", ""))
        oldest = float(args.get("oldest", 0) or 0)
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        with self.lock:
            found = [
                p
                for p in self.posts
                if p.channel == channel and not p.thread_ts and float(p.ts) >= oldest
            ]
        messages = [self._message_json(p, with_meta) for p in reversed(found)]
        return self._ok(messages=messages, has_more=False)

    async def _m_conversations_replies(self, args: dict[str, Any]) -> web.Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        with self.lock:
            found = [
                p for p in self.posts if p.channel == channel and (p.ts == ts or p.thread_ts == ts)
            ]
        return self._ok(messages=[self._message_json(p, with_meta) for p in found], has_more=False)

    async def _m_conversations_open(self, args: dict[str, Any]) -> web.Response:
        users = str(args.get("users", ""))
        if not users:
            return self._error("users_list_not_supplied")
        return self._ok(channel={"id": "D" + users.split(",")[0].lstrip("UW")})

    async def _m_views_publish(self, args: dict[str, Any]) -> web.Response:
        view = args.get("view") or {}
        blocks = view.get("blocks") if isinstance(view, dict) else None
        if not isinstance(blocks, list) or len(blocks) > 100:
            return self._error("invalid_arguments")
        with self.lock:
            self.home_views.append((str(args.get("user_id", "")), view))
        return self._ok(view={"id": "V1"})

    async def _m_users_info(self, args: dict[str, Any]) -> web.Response:
        user = str(args.get("user", ""))
        return self._ok(user={"id": user, "is_admin": user in self.admins, "is_owner": False})

    async def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        file_id = f"F{next(self._files)}"
        return self._ok(upload_url=f"{self.base}/upload/{file_id}", file_id=file_id)

    async def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        files = args.get("files") or []
        with self.lock:
            self.uploads.append({"complete": args})
        return self._ok(files=[{"id": f.get("id"), "title": f.get("title")} for f in files])

    async def _m_apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        if self.socket_url is None:
            return self._error("invalid_auth")
        return self._ok(url=self.socket_url)
