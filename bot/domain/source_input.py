"""What a person may declare about a source, and how a source URL is shown (pure).

Invariants:
- ``clean_source_url`` accepts only an http(s) URL of at most ``MAX_URL_LENGTH`` characters
  with a host, no control, format (bidi overrides, zero-width) or space characters, and
  returns it with an ASCII (punycode) host; anything else is a ``ConfigError`` worded for a
  person;
- ``literal_address_refusal`` applies ``address_is_public`` (the same policy as the fetch
  chokepoint) to a host written as an IP address;
- ``shown_url`` is the one way a source URL is displayed (chat, Teams, App Home, CLI, logs,
  health, errors): no user info, query values masked, fragment dropped, host in ASCII;
- intervals lie in [``MIN_INTERVAL_S``, ``MAX_INTERVAL_S``]; selectors are at most
  ``MAX_SELECTOR_LENGTH`` characters.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from bot.domain.errors import ConfigError

MAX_URL_LENGTH = 2048
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 86400
MAX_SELECTOR_LENGTH = 500
MAX_NAME_LENGTH = 200
ALLOWED_SCHEMES = ("http", "https")


# --------------------------------------------------------------------------- addresses


def address_is_public(address: str) -> bool:
    """True when ``address`` is a globally routable unicast address.

    Refuses loopback, private, link-local (the cloud metadata address 169.254.169.254),
    shared (CGNAT), reserved, multicast and unspecified addresses, including IPv4 addresses
    embedded in IPv6 (mapped, 6to4, Teredo, NAT64). Not an address at all: False.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour:
            embedded.append(ip.sixtofour)
        if ip.teredo:
            embedded.extend(ip.teredo)
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(not address_is_public(str(v4)) for v4 in embedded):
            return False
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_unspecified
    )


def literal_address(host: str) -> str | None:
    """``host`` as an IP address string when it is written as one (``[::1]`` too), else None."""
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        return None


def private_refusal(host: str, addresses: list[str]) -> str | None:
    """Why ``host`` (resolving to ``addresses``) is refused, or None when all are public."""
    refused = [a for a in addresses if not address_is_public(a)]
    if not addresses:
        return f"{host} has no address"
    if refused:
        return (
            f"{host} is on a private or local network ({refused[0]}); set "
            "USCHINA_BOT_ALLOW_PRIVATE_NETWORKS=1 to allow it"
        )
    return None


# --------------------------------------------------------------------------- URL text


def _bad_character(text: str) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Co", "Cn"):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            return f"U+{ord(char):04X} {name}".strip()
    return None


def ascii_host(host: str) -> str:
    """``host`` in ASCII (IDNA punycode for internationalised names); ``ConfigError`` if not
    encodable."""
    if host.isascii():
        return host.lower()
    try:
        return ".".join(
            label.encode("idna").decode("ascii") if label else label
            for label in host.lower().split(".")
        )
    except UnicodeError as exc:
        raise ConfigError(f"the host name {host!r} is not a valid domain name") from exc


def clean_source_url(text: str) -> str:
    """The URL a person typed, checked (see the module invariants); ``ConfigError`` if refused."""
    if len(text) > MAX_URL_LENGTH:
        raise ConfigError(f"the URL is too long ({len(text)} characters; at most {MAX_URL_LENGTH})")
    bad = _bad_character(text)
    if bad:
        raise ConfigError(f"the URL contains a space, control or invisible character ({bad})")
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme not in ALLOWED_SCHEMES or not text[len(scheme) :].startswith("://"):
        shown = f"{scheme}: URLs are" if scheme.isalpha() else "that is"
        raise ConfigError(f"{shown} not allowed: give an http:// or https:// URL")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"not a valid URL ({exc})") from exc
    if not host:
        raise ConfigError("the URL has no host name")
    if literal_address(host) is None:
        host = ascii_host(host)
        if not all(c.isalnum() or c in "-._" for c in host):
            raise ConfigError(f"the host name {host!r} is not a valid domain name")
    else:
        host = f"[{host}]" if ":" in host else host
    netloc = host + (f":{port}" if port is not None else "")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def shown_url(url: str) -> str:
    """A source URL safe to display: user info and query values masked, host in ASCII."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if literal_address(host) is None:
        try:
            host = ascii_host(host)
        except ConfigError:
            host = host.encode("ascii", "backslashreplace").decode("ascii")
    elif ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    if "@" in parts.netloc:
        netloc = "***@" + netloc
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if "=" in pair else "***"
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


# --------------------------------------------------------------------------- other values


def check_interval(seconds: float, *, what: str = "interval") -> int:
    """``seconds`` as an int when within [1 min, 7 d]; ``ConfigError`` naming ``what`` else."""
    if not (MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S):
        raise ConfigError(
            f"{what} must be between 1m and 7d (60 to {MAX_INTERVAL_S} seconds), "
            f"got {seconds:g} seconds"
        )
    return int(seconds)


def clean_source_name(name: str) -> str:
    """A display name: trimmed, 1 to ``MAX_NAME_LENGTH`` characters, no control or invisible
    characters (a bidi override would reorder the rest of the line it is shown in)."""
    name = name.strip()
    if not name:
        raise ConfigError("the name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"the name is too long ({len(name)} characters; at most {MAX_NAME_LENGTH})"
        )
    bad = _bad_character(name.replace(" ", ""))
    if bad:
        raise ConfigError(f"the name contains a control or invisible character ({bad})")
    return name


def selector_length_problem(selector: str) -> str | None:
    """Why ``selector`` is too long to compile safely, or None."""
    if len(selector) > MAX_SELECTOR_LENGTH:
        return f"too long ({len(selector)} characters; at most {MAX_SELECTOR_LENGTH})"
    return None
