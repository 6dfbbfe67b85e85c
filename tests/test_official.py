"""Government sites are official; state media are not."""

from __future__ import annotations

import pytest

from bot.domain.official import is_official, side_of


@pytest.mark.parametrize(
    ("url", "side"),
    [
        ("https://www.whitehouse.gov/briefing-room/statements/", "us"),
        ("https://www.state.gov/secretary-blinken-call/", "us"),
        ("https://ustr.gov/about-us/policy-offices/press-office", "us"),
        ("https://home.treasury.gov/news/press-releases/jy1234", "us"),
        ("https://www.defense.gov/News/Releases/", "us"),
        ("https://www.army.mil/article/1", "us"),
        ("https://china.usembassy-china.org.cn/statement/", "us"),
        ("https://www.fmprc.gov.cn/eng/xw/", "cn"),
        ("https://www.mfa.gov.cn/eng/wjdt_665385/", "cn"),
        ("http://english.mofcom.gov.cn/article/news/", "cn"),
        ("http://eng.mod.gov.cn/xb/News_213114/", "cn"),
        ("http://us.china-embassy.gov.cn/eng/zgyw/", "cn"),
        ("http://www.china-embassy.org/eng/", "cn"),
        ("https://english.www.gov.cn/news/", "cn"),
    ],
)
def test_government_sites_are_official_with_a_side(url: str, side: str) -> None:
    assert is_official(url)
    assert side_of(url) == side


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://english.news.cn/20240101/abc/c.html", "Xinhua"),
        ("https://www.xinhuanet.com/english/2024-01/01/c_1.htm", ""),
        ("https://news.cgtn.com/news/2024-01-01/x.html", "CGTN"),
        ("https://www.globaltimes.cn/page/202401/1.shtml", "Global Times"),
        ("https://www.chinadaily.com.cn/a/202401/01/x.html", "China Daily"),
        ("https://www.reuters.com/world/china/", "Reuters"),
        ("https://governance.example.com/gov/", ""),
        ("https://notgov.cn.example.com/", ""),
        ("", ""),
        ("not a url at all", ""),
    ],
)
def test_media_and_other_sites_are_not_official(url: str, name: str) -> None:
    assert not is_official(url, name)
    assert side_of(url) is None


def test_state_media_name_on_a_mirror_is_not_official() -> None:
    assert not is_official("https://mirror.gov.cn/xinhua-copy", "Xinhua")
