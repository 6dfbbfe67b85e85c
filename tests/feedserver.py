"""A local HTTP server of feeds, good and hostile, for tests and benchmarks.

Runs an asyncio HTTP/1.1 server on 127.0.0.1 (ephemeral port) in a background thread, so it
serves sync tests, async tests (whatever their event loop) and benchmarks alike::

    with FeedServer(n_feeds=10, items_per_feed=20) as server:
        server.feeds[0].url            # "http://127.0.0.1:PORT/feeds/0"
        server.url(FeedServer.HTTP_500)

Feeds are deterministic (same arguments -> same bytes) and pre-rendered once. Formats cycle
through RSS 2.0, RSS 1.0 (RDF), Atom, JSON Feed and an HTML listing page (selector
``ul.releases li a``). Every feed has stable guids (links for the HTML page), an ETag and a
Last-Modified date, answers matching conditional requests with 304, and every request is
recorded (``server.requests``) with whether it was conditional.

Endpoints besides ``/feeds/<i>`` (class constants hold the paths):
``/regen`` new guids and dates on every fetch (stable links and titles);
``/status/<code>``; ``/slow?s=SECONDS``; ``/drip?every=SECONDS`` one byte at a time;
``/loop/a`` <-> ``/loop/b`` redirect loop; ``/redirect/<n>`` n hops then ``/feeds/0``;
``/redirect-to?url=URL``; ``/big`` and ``/big-chunked`` 50 MB bodies; ``/gzip-bomb``;
``/gzip-gzip`` ("Content-Encoding: gzip, gzip"); ``/gzip-feed`` and ``/deflate-feed`` (valid,
compressed); ``/html`` (a page, not a feed); ``/malformed``; ``/garbage``; ``/empty``;
``/xxe``; ``/billion-laughs``; ``/deep-json`` (a JSON Feed whose items are 50,000 nested arrays);
and any body registered with ``serve(path, body, ctype, delay_s=0.0)`` (answered after
``delay_s``: tests set the order in which fetches finish).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

FORMATS = ("rss2", "rss1", "atom", "json", "html")
SOURCE_TYPES = {"rss2": "rss", "rss1": "rss", "atom": "atom", "json": "json", "html": "html"}
CONTENT_TYPES = {
    "rss2": "application/rss+xml; charset=utf-8",
    "rss1": "application/rdf+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
HTML_SELECTOR = "ul.releases li a"
BASE_TIME = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
BIG_BODY_BYTES = 50 * 1024 * 1024
BOMB_DECODED_BYTES = 64 * 1024 * 1024

HEADLINES = (
    "Biden and Xi agree in call to resume military-to-military communication",
    "US and China hold climate talks ahead of COP29 in Baku",
    "Washington adds Chinese chip firms to entity list over export controls",
    "US envoy visits Beijing for talks on fentanyl precursors",
    "Taiwan arms sale draws protest from Beijing as Strait tensions rise",
    "Philippine and Chinese vessels collide near Second Thomas Shoal; US voices support",
    "US and China open first dialogue on AI safety in Geneva",
    "Treasury and Chinese officials meet in economic working group on tariffs",
    "Local bakery wins regional award for sourdough",
    "City council approves new bike lanes downtown",
    "China Town night market returns for summer season",
    "Central bank holds interest rates steady amid inflation data",
)
WORDS = (
    "officials",
    "said",
    "the",
    "talks",
    "covered",
    "a",
    "range",
    "of",
    "issues",
    "including",
    "trade",
    "security",
    "climate",
    "communication",
    "channels",
    "between",
    "the",
    "two",
    "governments",
    "and",
    "next",
    "steps",
    "for",
    "the",
    "working",
    "groups",
    "that",
    "met",
    "this",
    "week",
    "while",
    "analysts",
    "noted",
    "the",
    "meeting",
    "followed",
    "months",
    "of",
    "tension",
    "over",
    "technology",
    "controls",
    "maritime",
    "incidents",
    "and",
    "the",
    "status",
    "of",
    "detained",
    "citizens",
)


def _summary(i: int, j: int, words: int) -> str:
    start = (i * 7 + j * 13) % len(WORDS)
    picked = [WORDS[(start + k * 3) % len(WORDS)] for k in range(words)]
    return f"Report {i}-{j}: " + " ".join(picked) + "."


@dataclass(frozen=True)
class Article:
    guid: str
    link: str
    title: str
    summary: str
    published: datetime


def make_articles(i: int, count: int, *, summary_words: int = 100) -> list[Article]:
    """The ``count`` newest articles of feed ``i``, newest first (deterministic)."""
    articles = []
    for j in reversed(range(count)):
        articles.append(
            Article(
                guid=f"urn:feed{i}:item{j}",
                link=f"https://news{i % 7}.example.com/feed{i}/story-{j}",
                title=f"{HEADLINES[(i + j) % len(HEADLINES)]} (#{i}-{j})",
                summary=_summary(i, j, summary_words),
                published=BASE_TIME + timedelta(hours=j, minutes=i % 60),
            )
        )
    return articles


# --------------------------------------------------------------------------- renderers


def _rfc822(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def render_rss2(title: str, articles: list[Article]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>https://example.com/</link>"
        "<description>Generated feed</description><language>en-us</language>"
    ]
    for a in articles:
        parts.append(
            f"<item><title>{escape(a.title)}</title><link>{escape(a.link)}</link>"
            f'<guid isPermaLink="false">{escape(a.guid)}</guid>'
            f"<pubDate>{_rfc822(a.published)}</pubDate>"
            f"<description>{escape('<p>' + a.summary + '</p>')}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def render_rss1(title: str, articles: list[Article]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="https://example.com/"><title>{escape(title)}</title>'
        "<link>https://example.com/</link><description>Generated feed</description>"
        "<dc:language>en</dc:language></channel>"
    ]
    for a in articles:
        parts.append(
            f'<item rdf:about="{escape(a.guid)}"><title>{escape(a.title)}</title>'
            f"<link>{escape(a.link)}</link><description>{escape(a.summary)}</description>"
            f"<dc:date>{a.published.isoformat()}</dc:date></item>"
        )
    parts.append("</rdf:RDF>\n")
    return "".join(parts).encode()


def render_atom(title: str, articles: list[Article]) -> bytes:
    updated = articles[0].published.isoformat() if articles else BASE_TIME.isoformat()
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:lang="en"><title>{escape(title)}</title><id>urn:feed:{escape(title)}</id>'
        f"<updated>{updated}</updated>"
    ]
    for a in articles:
        parts.append(
            f"<entry><id>{escape(a.guid)}</id><title>{escape(a.title)}</title>"
            f'<link rel="alternate" href="{escape(a.link)}"/>'
            f"<published>{a.published.isoformat()}</published>"
            f"<updated>{a.published.isoformat()}</updated>"
            f'<summary type="html">{escape("<b>" + a.summary + "</b>")}</summary>'
            "<author><name>Desk</name></author></entry>"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode()


def render_json(title: str, articles: list[Article]) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": "https://example.com/",
        "language": "en",
        "items": [
            {
                "id": a.guid,
                "url": a.link,
                "title": a.title,
                "content_html": f"<p>{a.summary}</p>",
                "date_published": a.published.isoformat(),
                "authors": [{"name": "Desk"}],
            }
            for a in articles
        ],
    }
    return json.dumps(feed).encode()


def render_html(title: str, articles: list[Article]) -> bytes:
    """A press-release listing page: relative links, ``<time>`` dates, no feed."""
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><title>{escape(title)}</title></head><body>"
        "<nav><a href='/'>Home</a></nav><ul class='releases'>"
    ]
    for a in articles:
        path = urlsplit(a.link).path
        parts.append(
            f"<li><a href='{escape(path)}'>{escape(a.title)}</a> "
            f"<time datetime='{a.published.isoformat()}'>{a.published:%B %d, %Y}</time></li>"
        )
    parts.append("</ul></body></html>\n")
    return "".join(parts).encode()


RENDERERS = {
    "rss2": render_rss2,
    "rss1": render_rss1,
    "atom": render_atom,
    "json": render_json,
    "html": render_html,
}


@dataclass
class FeedInfo:
    """One generated feed. ``guids`` are the stable identities (links for HTML pages)."""

    index: int
    path: str
    url: str
    format: str
    source_type: str
    selector: str | None
    item_count: int
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    guids: tuple[str, ...] = ()
    content_type: str = ""


def render_feed(
    index: int, fmt: str, count: int, summary_words: int
) -> tuple[bytes, list[Article]]:
    articles = make_articles(index, count, summary_words=summary_words)
    return RENDERERS[fmt](f"Feed {index} ({fmt})", articles), articles


# --------------------------------------------------------------------------- hostile bodies


@cache
def gzip_bomb() -> bytes:
    """~64 KiB of gzip that inflates to 64 MiB of zeros."""
    return gzip.compress(b"\0" * BOMB_DECODED_BYTES, compresslevel=9, mtime=0)


@cache
def double_gzip_bomb() -> bytes:
    """A body for ``Content-Encoding: gzip, gzip``: a few hundred bytes, 64 MiB decoded."""
    return gzip.compress(gzip_bomb(), compresslevel=9, mtime=0)


MALFORMED_XML = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & co</title>'
    b"<item><title>First item &nbsp; survives</title><link>https://example.com/a</link>"
    b"<guid>broken-1</guid></item>"
    b"<item><title>Second <b>item</title><link>https://example.com/b</link><guid>broken-2</guid>"
    b"</item></channel>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>XXE</title><item><title>Leak &xxe; here</title>'
    b"<link>https://example.com/x</link></item></channel></rss>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']><rss version="2.0"><channel><title>Laughs</title><item><title>&lol9;</title>'
    b"<link>https://example.com/lol</link></item></channel></rss>"
)
NON_FEED_HTML = (
    b"<!DOCTYPE html><html><head><title>Ministry news</title>"
    b'<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
    b"<body><h1>News</h1><p>Welcome.</p></body></html>"
)
GARBAGE = bytes(range(256)) * 4
DEEP_JSON = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "deep", "items": '
    + b"[" * 50_000
    + b"]" * 50_000
    + b"}"
)


# --------------------------------------------------------------------------- request log


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    started: float  # time.monotonic()
    finished: float = 0.0
    status: int = 0

    @property
    def conditional(self) -> bool:
        return "if-none-match" in self.headers or "if-modified-since" in self.headers


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay_s: float = 0.0  # how long the server waits before answering


REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    500: "Internal Server Error",
}


# --------------------------------------------------------------------------- the server


class FeedServer:
    """Local feed server; a context manager (sync) and an async context manager."""

    REGEN = "/regen"
    HTTP_500 = "/status/500"
    SLOW = "/slow"
    DRIP = "/drip"
    LOOP = "/loop/a"
    BIG = "/big"
    BIG_CHUNKED = "/big-chunked"
    GZIP_BOMB = "/gzip-bomb"
    GZIP_GZIP = "/gzip-gzip"
    GZIP_FEED = "/gzip-feed"
    DEFLATE_FEED = "/deflate-feed"
    HTML = "/html"
    MALFORMED = "/malformed"
    GARBAGE = "/garbage"
    EMPTY = "/empty"
    XXE = "/xxe"
    BILLION_LAUGHS = "/billion-laughs"
    DEEP_JSON = "/deep-json"

    def __init__(
        self,
        n_feeds: int = 10,
        items_per_feed: int = 20,
        *,
        formats: tuple[str, ...] = FORMATS,
        summary_words: int = 140,
        slow_s: float = 30.0,
        regen_items: int = 5,
    ) -> None:
        self.n_feeds = n_feeds
        self.items_per_feed = items_per_feed
        self.formats = formats
        self.summary_words = summary_words
        self.slow_s = slow_s
        self.regen_items = regen_items
        self.regen_fetches = 0
        self.requests: list[RequestRecord] = []
        self.feeds: list[FeedInfo] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._extra: dict[str, _Response] = {}

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def source_entries(self, **extra: str) -> list[dict[str, str]]:
        """One config entry per generated feed, named ``feed 0``, ``feed 1``, ..., with its
        type, its selector when it has one, and the ``extra`` keys."""
        return [
            {"name": f"feed {i}", "url": f.url, "type": f.source_type}
            | ({"selector": f.selector} if f.selector else {})
            | extra
            for i, f in enumerate(self.feeds)
        ]

    def start(self) -> FeedServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("feed server did not start")
        self.feeds = [self._build_feed(i, self.items_per_feed) for i in range(self.n_feeds)]
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        future.result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FeedServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, 0, limit=64 * 1024, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ----------------------------------------------------------------- feeds

    def _build_feed(self, index: int, count: int) -> FeedInfo:
        fmt = self.formats[index % len(self.formats)]
        body, articles = render_feed(index, fmt, count, self.summary_words)
        path = f"/feeds/{index}"
        if fmt == "html":
            guids = tuple(self.url(urlsplit(a.link).path) for a in articles)
        else:
            guids = tuple(a.guid for a in articles)
        newest = articles[0].published if articles else BASE_TIME
        return FeedInfo(
            index=index,
            path=path,
            url=self.url(path),
            format=fmt,
            source_type=SOURCE_TYPES[fmt],
            selector=HTML_SELECTOR if fmt == "html" else None,
            item_count=count,
            body=body,
            etag='"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"',
            last_modified=format_datetime(newest, usegmt=True),
            guids=guids,
            content_type=CONTENT_TYPES[fmt],
        )

    def serve(self, path: str, body: bytes, content_type: str, *, delay_s: float = 0.0) -> str:
        """Serve ``body`` as-is at ``path`` with this Content-Type, ``delay_s`` seconds after
        each request came in; returns its URL."""
        self._extra[path] = _Response(200, [("Content-Type", content_type)], body, delay_s)
        return self.url(path)

    def publish(self, index: int, n: int = 1) -> FeedInfo:
        """Add ``n`` newer items to feed ``index`` (new ETag and Last-Modified)."""
        info = self._build_feed(index, self.feeds[index].item_count + n)
        self.feeds[index] = info
        return info

    def regen_body(self) -> bytes:
        """The regenerating feed: same links and titles, new guids and dates every time."""
        with self._lock:
            self.regen_fetches += 1
            fetch = self.regen_fetches
        articles = [
            Article(
                guid=f"urn:regen:{fetch}:{j}",
                link=f"https://regen.example.com/story-{j}",
                title=f"{HEADLINES[j % len(HEADLINES)]} (regen {j})",
                summary=_summary(999, j, 30),
                published=BASE_TIME + timedelta(days=fetch, minutes=j),
            )
            for j in range(self.regen_items)
        ]
        return render_rss2("Regenerating feed", articles)

    # ----------------------------------------------------------------- request log

    def requests_for(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = [*lines[0].split(" "), "", ""][:3]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                parts = urlsplit(target)
                record = RequestRecord(
                    method, parts.path, parts.query, headers, started=time.monotonic()
                )
                with self._lock:
                    self.requests.append(record)
                keep = await self._respond(record, writer)
                record.finished = time.monotonic()
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _send(
        self, writer: asyncio.StreamWriter, record: RequestRecord, response: _Response
    ) -> bool:
        record.status = response.status
        names = {name.lower() for name, _ in response.headers}
        headers = list(response.headers)
        if "content-length" not in names:
            headers.append(("Content-Length", str(len(response.body))))
        head = f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        writer.write(head.encode("latin-1"))
        if record.method != "HEAD" and response.body:
            writer.write(response.body)
        await writer.drain()
        return True

    async def _respond(self, record: RequestRecord, writer: asyncio.StreamWriter) -> bool:
        path = record.path
        query = parse_qs(record.query)
        if path.startswith("/feeds/"):
            return await self._send(writer, record, self._feed_response(record))
        if path == self.REGEN:
            body = self.regen_body()
            ctype = ("Content-Type", CONTENT_TYPES["rss2"])
            return await self._send(writer, record, _Response(200, [ctype], body))
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            extra = [("Retry-After", "120")] if code in (429, 503) else []
            return await self._send(writer, record, _Response(code, extra, b"error\n"))
        if path == self.SLOW:
            await asyncio.sleep(float(query.get("s", [self.slow_s])[0]))
            return await self._send(writer, record, self._feed_response(record, index=0))
        if path == self.DRIP:
            await self._drip(writer, float(query.get("every", ["1.0"])[0]))
            return False
        if path.startswith("/loop/"):
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            return await self._send(writer, record, _Response(302, [("Location", other)]))
        if path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            location = f"/redirect/{left - 1}" if left > 1 else "/feeds/0"
            return await self._send(writer, record, _Response(302, [("Location", location)]))
        if path == "/redirect-to":
            location = query.get("url", ["/feeds/0"])[0]
            return await self._send(writer, record, _Response(302, [("Location", location)]))
        if path in (self.BIG, self.BIG_CHUNKED):
            await self._big(writer, chunked=path == self.BIG_CHUNKED)
            return False
        static = self._static(path)
        if static is not None:
            if static.delay_s > 0:
                await asyncio.sleep(static.delay_s)
            return await self._send(writer, record, static)
        return await self._send(writer, record, _Response(404, [], b"not found\n"))

    def _static(self, path: str) -> _Response | None:
        if path in self._extra:
            return self._extra[path]
        xml = ("Content-Type", "application/xml")
        if path == self.GZIP_BOMB:
            headers = [("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip")]
            return _Response(200, headers, gzip_bomb())
        if path == self.GZIP_GZIP:
            headers = [("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip, gzip")]
            return _Response(200, headers, double_gzip_bomb())
        if path == self.GZIP_FEED:
            body = gzip.compress(self.feeds[0].body, mtime=0)
            return _Response(200, [xml, ("Content-Encoding", "gzip")], body)
        if path == self.DEFLATE_FEED:
            body = zlib.compress(self.feeds[0].body)
            return _Response(200, [xml, ("Content-Encoding", "deflate")], body)
        if path == self.DEEP_JSON:
            return _Response(200, [("Content-Type", CONTENT_TYPES["json"])], DEEP_JSON)
        table = {
            self.HTML: NON_FEED_HTML,
            self.MALFORMED: MALFORMED_XML,
            self.GARBAGE: GARBAGE,
            self.EMPTY: b"",
            self.XXE: XXE,
            self.BILLION_LAUGHS: BILLION_LAUGHS,
        }
        if path in table:
            ctype = "text/html" if path == self.HTML else "application/octet-stream"
            return _Response(200, [("Content-Type", ctype)], table[path])
        return None

    def _feed_response(self, record: RequestRecord, index: int | None = None) -> _Response:
        try:
            number = index if index is not None else int(record.path.split("/")[2])
            info = self.feeds[number]
        except (ValueError, IndexError):
            return _Response(404, [], b"no such feed\n")
        validators = [
            ("ETag", info.etag),
            ("Last-Modified", info.last_modified),
            ("Cache-Control", "max-age=60"),
        ]
        if _not_modified(record.headers, info):
            return _Response(304, validators)
        return _Response(200, [("Content-Type", info.content_type), *validators], info.body)

    async def _drip(self, writer: asyncio.StreamWriter, every: float) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            b"Content-Length: 100000\r\n\r\n"
        )
        for _ in range(100000):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(every)

    async def _big(self, writer: asyncio.StreamWriter, *, chunked: bool) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        head += (
            "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BIG_BODY_BYTES}\r\n"
        )
        writer.write((head + "\r\n").encode())
        chunk = b"<!-- padding -->" * 65536  # 1 MiB
        for _ in range(BIG_BODY_BYTES // len(chunk)):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()


def _not_modified(headers: dict[str, str], info: FeedInfo) -> bool:
    if "if-none-match" in headers:
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return "*" in tags or info.etag in tags or ("W/" + info.etag) in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(info.last_modified)
        except (TypeError, ValueError):
            return False
    return False
