"""A small local news server: feed bytes set per path, served over real HTTP on 127.0.0.1.

Runs ``ThreadingHTTPServer`` in a background thread, so sync and async tests can use it while
the code under test fetches with its normal HTTP client::

    with NewsServer() as news:
        url = news.set("/wire.xml", rss_feed("Wire", [NewsItem(...)]))
        ...                                   # poll
        news.set("/wire.xml", rss_feed("Wire", [...more items...]))

Every body gets a strong ETag (a hash of its bytes); a request whose ``If-None-Match``
matches the current body gets ``304 Not Modified``. Unknown paths get 404. Every request is
recorded (``news.requests``) with its path, status and whether it was conditional.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class NewsItem:
    """One RSS item: ``guid`` is its stable identity."""

    guid: str
    title: str
    link: str
    summary: str
    published: datetime


def rss_feed(title: str, items: list[NewsItem]) -> bytes:
    """An RSS 2.0 document with ``items`` in the given order (titles and text escaped)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.com/</link>"
        "<description>Local test feed</description><language>en-us</language>"
    ]
    for item in items:
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
            f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
            f"<pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>"
            f"<description>{escape(item.summary)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


@dataclass(frozen=True)
class Served:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    conditional: bool


class NewsServer:
    """Serves ``set`` bodies per path with ETag / ``If-None-Match`` support."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[str, Served] = {}
        self.requests: list[Request] = []
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server_self._answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> NewsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> NewsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ----------------------------------------------------------------- content

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes, content_type: str = RSS_TYPE) -> str:
        """Serve ``body`` at ``path`` from now on; returns the full URL."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        with self._lock:
            self._bodies[path] = Served(body, content_type, etag)
        return self.url(path)

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ----------------------------------------------------------------- handler

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        match = handler.headers.get("If-None-Match")
        with self._lock:
            served = self._bodies.get(path)
            if served is None:
                status = 404
            elif match and served.etag in [t.strip() for t in match.split(",")]:
                status = 304
            else:
                status = 200
            self.requests.append(Request(path, status, match is not None))
        handler.send_response(status)
        if served is not None:
            handler.send_header("ETag", served.etag)
        if status == 200 and served is not None:
            handler.send_header("Content-Type", served.content_type)
            handler.send_header("Content-Length", str(len(served.body)))
            handler.end_headers()
            handler.wfile.write(served.body)
            return
        body = b"no such feed\n" if status == 404 else b""
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)
