"""The one HTTP fetch chokepoint of uschina-bot (the only module that imports httpx).

``Fetcher.fetch`` never raises for a per-source problem: every failure becomes a
``FetchOutcome(ok=False, error=...)`` worded for a person. Guarantees:

- an overall deadline around each fetch (httpx timeouts are per operation, so a server that
  drips one byte a second would otherwise keep a request alive forever);
- redirects are followed by hand (at most ``max_redirects``), each hop's scheme is checked and
  loops are reported;
- the body is read raw and decoded here: at most one content-coding (gzip or deflate), inflated
  with ``max_length`` so neither the raw nor the decoded size can exceed ``max_bytes``;
- SSRF guard: unless ``allow_private_networks``, every connection (first URL and every
  redirect hop) resolves its host with ``loop.getaddrinfo``, refuses the connection when ANY
  resolved address is loopback/private/link-local/reserved/multicast/unspecified, and then
  connects to exactly the address it checked. There is therefore no DNS-rebinding window
  between check and connect. Proxies from the environment are ignored (``trust_env=False``);
- conditional GET with ``If-None-Match``/``If-Modified-Since``; 304 is ``ok`` with no body;
- ``Retry-After`` (seconds or HTTP date) and ``Cache-Control: max-age`` are reported;
- URLs are logged without credentials or query values (``redact_url``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import socket
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bot.domain.errors import FetchError, UnsafeURLError
from bot.domain.headers import retry_after_seconds
from bot.domain.models import FetchOutcome
from bot.domain.source_input import (
    address_is_public,
    literal_address,
    private_refusal,
    shown_url,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_USER_AGENT = "uschina-bot/0.1 (+news monitor; feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
_CHUNK = 64 * 1024
_DRAIN_LIMIT = 64 * 1024

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


# --------------------------------------------------------------------------- helpers


def redact_url(url: str) -> str:
    """``url`` safe to log: the domain's ``shown_url`` (user info and query values masked)."""
    return shown_url(url)


class _MaskRequestURLs(logging.Filter):
    """httpx logs ``HTTP Request: GET <url> ...`` at INFO: mask every URL in it (a source URL
    may carry credentials in its user info or query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                shown_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _install_request_mask() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _MaskRequestURLs) for f in logger.filters):
        logger.addFilter(_MaskRequestURLs())


_install_request_mask()


def human_size(n: int) -> str:
    """``10485760`` -> ``"10 MiB"``."""
    for unit, size in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


async def system_resolve(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to (IPv4 and IPv6), via the event loop's resolver."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in seen:
            seen.append(addr)
    return seen


async def check_source_host(
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver = system_resolve,
    timeout_s: float = 3.0,
    unresolvable_ok: bool = False,
) -> str | None:
    """Refuse at add time what the guarded connect would refuse at fetch time.

    Raises ``UnsafeURLError`` for a literal private/loopback/link-local address, or a host all
    of whose addresses are such (the same ``address_is_public`` policy as every connection).
    Returns a note when the host cannot be resolved now and ``unresolvable_ok`` (it is checked
    again at every fetch), else None.
    """
    parsed = check_url(url)
    if allow_private:
        return None
    host = parsed.host
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = list(await asyncio.wait_for(resolver(host, port), timeout_s))
        except (OSError, TimeoutError, UnicodeError) as exc:
            if unresolvable_ok:
                return f"cannot resolve {host} now; it is checked again at every fetch"
            raise UnsafeURLError(f"cannot resolve the host name {host}") from exc
    problem = private_refusal(host, addresses)
    if problem:
        raise UnsafeURLError(problem)
    return None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (accepts delta-seconds or an HTTP date)."""
    return retry_after_seconds(value, now)


_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def parse_max_age(cache_control: str | None) -> float | None:
    """``Cache-Control: max-age=N`` -> N seconds; ``no-cache``/``no-store`` -> 0."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    if match:
        return float(match.group(1))
    lowered = cache_control.lower()
    if "no-cache" in lowered or "no-store" in lowered:
        return 0.0
    return None


def status_error(status: int) -> str:
    """Words for a person describing an HTTP error status."""
    if status >= 500:
        return f"server error {status}"
    words = {
        401: "access denied",
        403: "access denied",
        404: "not found",
        410: "gone (the feed was removed)",
        429: "rate limited by the server",
    }.get(status, "request refused")
    return f"{words} (HTTP {status})"


def check_url(url: str) -> httpx.URL:
    """Parse ``url`` and refuse anything but http(s) with a host; raises ``UnsafeURLError``."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeURLError(f"not a valid URL ({exc})") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "none"
        raise UnsafeURLError(f"unsupported URL scheme '{scheme}' (only http and https)")
    if not parsed.host:
        raise UnsafeURLError("the URL has no host name")
    return parsed


# --------------------------------------------------------------------------- guarded connect


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked address only."""

    def __init__(
        self,
        *,
        allow_private: bool,
        trusted_hosts: frozenset[str],
        resolver: Resolver,
    ) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private
        self._trusted_hosts = trusted_hosts
        self._resolve = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = list(await self._resolve(host, port))
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"host not found: {host}") from exc
        if not addresses:
            raise FetchError(f"host not found: {host}")
        exempt = self._allow_private or host.lower() in self._trusted_hosts
        if not exempt:
            refused = [a for a in addresses if not address_is_public(a)]
            if refused:
                raise UnsafeURLError(
                    f"refused: {host} resolves to a private or local network address "
                    f"({refused[0]}); set USCHINA_BOT_ALLOW_PRIVATE_NETWORKS=1 to allow it"
                )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _LeanPool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool with linear bookkeeping.

    httpcore re-examines every pooled connection each time a request is queued or released:
    a socket-readability probe (``has_expired``) per idle connection plus a quadratic idle
    count, which with 32 connections costs more than the request itself. Here the full
    expiry sweep runs at most every ``SWEEP_S`` seconds, and a connection is probed just
    before it is reused (a stale one is closed and the next is tried), so no request is sent
    on a connection the server has closed or whose keep-alive has run out.
    """

    SWEEP_S = 1.0
    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + self.SWEEP_S
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif (sweep and connection.has_expired()) or (
                connection.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(connection)
                closing.append(connection)
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            chosen = self._reusable(origin, closing)
            if chosen is None and len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if c.is_idle()), None)
                if idle is None:
                    continue  # wait for a connection to be released
                self._connections.remove(idle)
                closing.append(idle)
            if chosen is None:
                chosen = self.create_connection(origin)
                self._connections.append(chosen)
            pool_request.assign_to_connection(chosen)
        return closing

    def _reusable(
        self, origin: httpcore.Origin, closing: list[httpcore.AsyncConnectionInterface]
    ) -> httpcore.AsyncConnectionInterface | None:
        """The first available connection to ``origin`` that has not expired."""
        for connection in list(self._connections):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once (loading the CA bundle costs ~50 ms)."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on ``_GuardedBackend``.

    httpx does not expose ``network_backend``; we rebuild the pool it would have built with the
    same settings (as a ``_LeanPool``). A test (private address refused) fails if a future
    httpx ignores it.
    """

    def __init__(self, *, limits: httpx.Limits, backend: _GuardedBackend) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = _LeanPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )


# --------------------------------------------------------------------------- body decoding


class _BodyTooLarge(Exception):
    pass


class _Decoder:
    """Accumulates a response body, inflating one content-coding, capped at ``limit`` bytes."""

    def __init__(self, coding: str, limit: int) -> None:
        self.limit = limit
        self.coding = coding
        self.raw_size = 0
        self.parts: list[bytes] = []
        self.size = 0
        self._z: Any = None
        if coding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        self._first = True

    def _append(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise _BodyTooLarge
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        self.raw_size += len(chunk)
        if self.raw_size > self.limit:
            raise _BodyTooLarge
        if self._z is None:
            self._append(chunk)
            return
        if self._first and self.coding == "deflate":
            self._first = False
            try:
                self._inflate(chunk)
            except zlib.error:  # some servers send raw deflate without the zlib wrapper
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._inflate(chunk)
            return
        self._inflate(chunk)

    def _inflate(self, data: bytes) -> None:
        while data:
            if self._z.eof:  # concatenated gzip members are legal; other trailing junk is not
                if self.coding != "gzip" or not data.strip(b"\0"):
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._append(self._z.decompress(data, self.limit - self.size + 1))
            data = self._z.unconsumed_tail or (self._z.unused_data if self._z.eof else b"")

    def finish(self) -> bytes:
        if self._z is not None and not self._z.eof:
            self._append(self._z.flush())
            if not self._z.eof and self.raw_size:
                raise FetchError("the compressed response was cut short")
        return b"".join(self.parts)


def _content_coding(value: str | None) -> str:
    """The single content-coding of a response; raises ``FetchError`` for anything else."""
    codings = [c.strip().lower() for c in (value or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return ""
    if len(codings) > 1:
        raise FetchError(f"unsupported content encoding '{value}' (more than one coding)")
    coding = {"x-gzip": "gzip"}.get(codings[0], codings[0])
    if coding not in ("gzip", "deflate"):
        raise FetchError(f"unsupported content encoding '{coding}'")
    return coding


# --------------------------------------------------------------------------- fetcher


class Fetcher:
    """Concurrent, capped, guarded HTTP GET for feeds. Use as ``async with Fetcher() as f``.

    ``max_concurrency`` bounds fetches in flight; ``per_host`` bounds those to one host:port.
    Waiting for a slot does not count against ``deadline_s``, which bounds one fetch from its
    first byte sent to its last byte read, redirects included.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 32,
        per_host: int = 4,
        deadline_s: float = 20.0,
        max_bytes: int = 10 * MiB,
        max_redirects: int = 5,
        allow_private_networks: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout_s: float = 10.0,
        trusted_hosts: Iterable[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.per_host = per_host
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private_networks = allow_private_networks
        self.user_agent = user_agent
        self._backend = _GuardedBackend(
            allow_private=allow_private_networks,
            trusted_hosts=frozenset(h.lower() for h in trusted_hosts),
            resolver=resolver or system_resolve,
        )
        self._timeout = httpx.Timeout(deadline_s, connect=min(connect_timeout_s, deadline_s))
        self._limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        self._client: httpx.AsyncClient | None = None
        self._global: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        transport = _GuardedTransport(limits=self._limits, backend=self._backend)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": self.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
        )
        self._global = asyncio.Semaphore(self.max_concurrency)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        try:
            parts = urlsplit(url)
            key = f"{(parts.hostname or '').lower()}:{parts.port or ''}"
        except ValueError:
            key = ""
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(self.per_host)
        return self._hosts[key]

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchOutcome:
        """GET ``url``; never raises for a per-source problem (see the module docstring)."""
        if self._client is None or self._global is None:
            raise RuntimeError("use Fetcher as 'async with Fetcher(...) as fetcher'")
        async with self._host_slot(url), self._global:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.deadline_s):
                    outcome = await self._fetch_following(url, etag, last_modified)
            except TimeoutError:
                outcome = self._fail(url, f"timed out after {self.deadline_s:g} s")
            except FetchError as exc:  # includes UnsafeURLError
                outcome = self._fail(url, str(exc))
            except httpx.HTTPError as exc:
                outcome = self._fail(url, _transport_error(exc, self.deadline_s))
            except (OSError, ssl.SSLError) as exc:
                outcome = self._fail(url, f"network error: {exc.__class__.__name__}")
            elapsed = time.monotonic() - started
        if not outcome.ok:
            # the poller logs each failed source once, with its id and name
            log.debug("fetch failed: %s: %s", redact_url(url), outcome.error)
        return _with_elapsed(outcome, elapsed)

    async def fetch_many(
        self, requests: Iterable[tuple[str, str | None, str | None]]
    ) -> list[FetchOutcome]:
        """Fetch ``(url, etag, last_modified)`` triples concurrently; results in input order."""
        tasks = [self.fetch(u, etag=e, last_modified=m) for u, e, m in requests]
        return list(await asyncio.gather(*tasks))

    @staticmethod
    def _fail(url: str, error: str, status: int = 0, **kw: Any) -> FetchOutcome:
        return FetchOutcome(url=url, ok=False, status=status, error=error, **kw)

    async def _fetch_following(
        self, url: str, etag: str | None, last_modified: str | None
    ) -> FetchOutcome:
        assert self._client is not None
        current = url
        seen: set[str] = set()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _hop in range(self.max_redirects + 1):
            target = check_url(current)
            seen.add(str(target))
            request = self._client.build_request("GET", target, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        return self._fail(
                            url,
                            f"redirect without a Location header (HTTP {response.status_code})",
                            status=response.status_code,
                        )
                    current = urljoin(str(target), location.strip())
                    await _drain_small(
                        response, {"content-length": response.headers.get("content-length", "")}
                    )
                    if str(check_url(current)) in seen:
                        return self._fail(url, "redirect loop", status=response.status_code)
                    continue
                return await self._finish(url, str(target), response)
            finally:
                await response.aclose()
        return self._fail(url, f"too many redirects (more than {self.max_redirects})")

    async def _finish(self, url: str, final_url: str, response: httpx.Response) -> FetchOutcome:
        now = datetime.now(UTC)
        headers = {k.lower(): v for k, v in response.headers.items()}
        retry_after = parse_retry_after(headers.get("retry-after"), now)
        max_age = parse_max_age(headers.get("cache-control"))
        status = response.status_code
        common: dict[str, Any] = {
            "status": status,
            "final_url": final_url,
            "headers": headers,
            "retry_after_s": retry_after,
            "max_age_s": max_age,
        }
        if status == 304 or status >= 400 or status < 200:
            await _drain_small(response, headers)
            if status == 304:
                return FetchOutcome(url=url, ok=True, **common)
            return FetchOutcome(url=url, ok=False, error=status_error(status), **common)
        body = await self._read_body(response, headers)
        return FetchOutcome(url=url, ok=True, body=body, **common)

    async def _read_body(self, response: httpx.Response, headers: dict[str, str]) -> bytes:
        coding = _content_coding(headers.get("content-encoding"))
        too_large = f"response larger than {human_size(self.max_bytes)}"
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(too_large)
        decoder = _Decoder(coding, self.max_bytes)
        try:
            async for chunk in response.aiter_raw(_CHUNK):
                decoder.feed(chunk)
            return decoder.finish()
        except _BodyTooLarge:
            suffix = " once decompressed" if coding and decoder.raw_size <= self.max_bytes else ""
            # from None: _BodyTooLarge is only our signal to stop reading
            raise FetchError(too_large + suffix) from None
        except zlib.error as exc:
            raise FetchError(f"the response is not valid {coding} data") from exc


async def _drain_small(response: httpx.Response, headers: dict[str, str]) -> None:
    """Read a short declared body so the connection can be reused; big ones are dropped."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= _DRAIN_LIMIT:
        async for _chunk in response.aiter_raw(_CHUNK):
            pass


def _with_elapsed(outcome: FetchOutcome, elapsed: float) -> FetchOutcome:
    return replace(outcome, elapsed_s=round(elapsed, 4))


def _transport_error(exc: httpx.HTTPError, deadline_s: float) -> str:
    """Words for a person describing an httpx transport failure."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {deadline_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return f"TLS error: {text}"
        return "could not connect to the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection or sent an invalid response"
    if isinstance(exc, httpx.DecodingError):
        return "the response could not be decoded"
    if isinstance(exc, httpx.InvalidURL):
        return f"not a valid URL ({exc})"
    return f"network error: {exc.__class__.__name__}"
