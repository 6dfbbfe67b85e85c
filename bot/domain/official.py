"""Which sources are governments speaking for themselves (US or PRC).

Official means a government site: US federal sites (``*.gov``, ``*.mil``, whitehouse.gov,
state.gov, ustr.gov, treasury.gov, commerce.gov, defense.gov, ...), PRC government sites
(``*.gov.cn``: fmprc.gov.cn, mfa.gov.cn, mofcom.gov.cn, mod.gov.cn, ...) and PRC embassies and
consulates (``*.china-embassy.gov.cn``, ``*.china-embassy.org``, ``*.china-consulate.org``).

State media are media, not official: Xinhua, CGTN, China Daily, People's Daily, Global Times
and CCTV report on the government but are not its own statements, so they are never official
here, whatever their source name says. Pure: looks only at the strings it is given.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

Side = Literal["us", "cn"]

_US_HOSTS = frozenset(
    {
        "whitehouse.gov",
        "state.gov",
        "ustr.gov",
        "treasury.gov",
        "commerce.gov",
        "defense.gov",
        "war.gov",
        "justice.gov",
        "dhs.gov",
        "bis.gov",
        "usembassy.gov",
        "china.usembassy-china.org.cn",
        "usembassy-china.org.cn",
    }
)
_US_SUFFIXES = (".gov", ".mil", ".usembassy.gov", "usembassy-china.org.cn")
_CN_SUFFIXES = (".gov.cn", ".china-embassy.org", ".china-embassy.gov.cn", ".china-consulate.org")
_CN_HOSTS = frozenset({"fmprc.gov.cn", "mfa.gov.cn", "mofcom.gov.cn", "mod.gov.cn", "gov.cn"})
_STATE_MEDIA = frozenset(
    {
        "xinhuanet.com",
        "news.cn",
        "cgtn.com",
        "globaltimes.cn",
        "chinadaily.com.cn",
        "people.com.cn",
        "cctv.com",
        "china.org.cn",
        "ecns.cn",
        "chinanews.com.cn",
    }
)
_STATE_MEDIA_NAMES = ("xinhua", "cgtn", "global times", "china daily", "people's daily", "cctv")


def _host(url: str) -> str:
    text = url.strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".").removeprefix("www.")


def _matches(host: str, hosts: frozenset[str], suffixes: tuple[str, ...]) -> bool:
    if host in hosts or any(host.endswith("." + h) for h in hosts):
        return True
    return any(host.endswith(s) or host == s.lstrip(".") for s in suffixes)


def _is_state_media(host: str, source_name: str) -> bool:
    if any(host == h or host.endswith("." + h) for h in _STATE_MEDIA):
        return True
    name = source_name.lower()
    return any(word in name for word in _STATE_MEDIA_NAMES)


def side_of(url: str) -> Side | None:
    """``"us"`` or ``"cn"`` for an official US or PRC government URL, else None."""
    host = _host(url)
    if not host or _is_state_media(host, ""):
        return None
    if _matches(host, _CN_HOSTS, _CN_SUFFIXES):
        return "cn"
    if _matches(host, _US_HOSTS, _US_SUFFIXES):
        return "us"
    return None


def is_official(url: str, source_name: str = "") -> bool:
    """True for a US or PRC government site (state media excluded; see the module docs).

    ``source_name`` only ever removes the flag (a state-media name on a mirror host); a
    government site is recognised by its address alone.
    """
    if _is_state_media(_host(url), source_name):
        return False
    return side_of(url) is not None
