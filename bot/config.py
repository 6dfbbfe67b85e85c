"""Typed settings: environment (SPEC §5) plus the YAML config file (SPEC §6), read once.

``load_settings()`` is called by the CLI and nowhere else; everything downstream receives the
``Settings`` object. A bad file fails with a ``ConfigError`` naming the key, the line and what
was expected. Secrets are ``SecretStr``: masked in every repr and never logged.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.domain import source_types
from bot.domain.errors import ConfigError
from bot.domain.models import SourceSpec
from bot.domain.parse import check_selector
from bot.domain.schedule import parse_cron
from bot.domain.source_input import check_interval, clean_source_name, clean_source_url

DEFAULT_DATABASE_URL = "sqlite:///./uschina-bot.db"
DEFAULT_CONFIG_FILE = "uschina-bot.yaml"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(value: Any) -> int:
    """``600``, ``"10m"``, ``"2h"``, ``"1d"`` -> seconds (``ValueError`` otherwise)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10m, 2h or 1d")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a duration such as 10m, 2h or 1d, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as 10m, 2h or 1d, got {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def bounded_duration(value: Any, low: int, high: int, what: str) -> int:
    """``duration_seconds(value)`` within [``low``, ``high``] (``ValueError`` naming the range)."""
    seconds = duration_seconds(value)
    if not low <= seconds <= high:
        raise ValueError(f"{what} must be between {_human(low)} and {_human(high)}, got {value!r}")
    return seconds


_T = TypeVar("_T")


def _as_value_error(check: Callable[[], _T]) -> _T:
    """``check()``, its ``ConfigError`` re-raised as the ``ValueError`` pydantic reports with
    the key and line."""
    try:
        return check()
    except ConfigError as exc:
        # from None: the cause is this same message, as a ConfigError
        raise ValueError(str(exc)) from None


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        # from None: a failed lookup; the cause says no more than the message
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name such as Europe/Paris)"
        ) from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    name: str = Field(min_length=1)
    url: str
    type: str = "auto"  # a name registered in bot.domain.source_types
    interval: int = 900
    selector: str | None = None
    official: bool = False
    enabled: bool = True

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return _as_value_error(lambda: check_interval(duration_seconds(value)))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _as_value_error(lambda: clean_source_name(value))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _as_value_error(lambda: clean_source_url(value))

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        problem = check_selector(value) if value is not None else None
        if problem:
            raise ValueError(f"not a usable CSS selector: {problem}")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _as_value_error(lambda: source_types.get(value).name)

    @model_validator(mode="after")
    def _selector_when_needed(self) -> SourceConfig:
        if source_types.get(self.type).needs_selector and not self.selector:
            raise ValueError(f"type: {self.type} needs a selector (CSS selector of the item links)")
        return self

    def spec(self) -> SourceSpec:
        return SourceSpec(
            name=self.name,
            url=self.url,
            type=self.type,
            interval_s=self.interval,
            selector=self.selector,
            official=self.official,
            enabled=self.enabled,
        )


class DigestConfig(_Strict):
    cron: str = "0 8 * * 1-5"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            parse_cron(value)
        except ConfigError as exc:
            # from None: the cause is this same message, as a ConfigError
            raise ValueError(str(exc)) from None
        return value


class ChannelConfig(_Strict):
    name: str = Field(min_length=1)
    slack_channel: str | None = None
    teams_webhook_url: SecretStr | None = None
    teams_channel_id: str | None = None  # conversation id seen by the outgoing webhook
    console: bool = False
    topics: list[str] = Field(default_factory=list)
    mode: Literal["realtime", "digest", "both"] = "realtime"
    digest: DigestConfig | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return _check_timezone(value) if value else value

    @model_validator(mode="after")
    def _one_target(self) -> ChannelConfig:
        targets = [self.slack_channel, self.teams_webhook_url, self.console or None]
        if sum(t is not None for t in targets) != 1:
            raise ValueError(
                "give exactly one of slack_channel, teams_webhook_url or console: true"
            )
        if self.teams_webhook_url is not None:
            url = self.teams_webhook_url.get_secret_value()
            if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
                raise ValueError("teams_webhook_url must be an https:// URL")
        return self

    @property
    def platform(self) -> Literal["slack", "teams", "console"]:
        if self.slack_channel:
            return "slack"
        if self.teams_webhook_url is not None:
            return "teams"
        return "console"

    def target(self) -> str:
        if self.slack_channel:
            return self.slack_channel
        if self.teams_webhook_url is not None:
            return self.teams_webhook_url.get_secret_value()
        return "stdout"


def _check_milestones(value: list[int]) -> list[int]:
    bad = [m for m in value if not 0 <= m <= 3650]
    if bad:
        raise ValueError(f"milestones are days before the event, 0 to 3650; got {bad[0]}")
    return value


class CountdownConfig(_Strict):
    name: str = Field(min_length=1)
    date: dt.date | None = None
    after: dt.date | None = None
    before: dt.date | None = None
    at: dt.datetime | None = None
    tentative: bool = False
    where: str | None = None
    timezone: str | None = None
    milestones: list[int] | None = None
    # True: news about this event updates its dates directly; false (default): the news only
    # proposes changes, which a person confirms or dismisses.
    follow_news: bool = False

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return _check_timezone(value) if value else value

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, value: list[int] | None) -> list[int] | None:
        return _check_milestones(value) if value is not None else value

    @model_validator(mode="after")
    def _dates(self) -> CountdownConfig:
        if self.date is None and (self.after is None or self.before is None):
            raise ValueError("give date: YYYY-MM-DD, or after: and before: for a window")
        if self.after and self.before and self.after > self.before:
            raise ValueError("after must not be later than before")
        return self

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        if self.date is not None:
            return self.date, self.date
        assert self.after is not None and self.before is not None
        return self.after, self.before


def default_parse_workers() -> int:
    """Processes that parse and classify large poll cycles: 0 on one core, else up to 2."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(2, cores)


class PollConfig(_Strict):
    concurrency: int = Field(default=32, ge=1, le=512)
    per_host: int = Field(default=4, ge=1, le=64)
    workers: int = Field(default_factory=lambda: default_parse_workers(), ge=0, le=16)
    deadline: int = 20
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, value: Any) -> int:
        return bounded_duration(value, 1, 600, "deadline")


class FileConfig(_Strict):
    """The YAML file. ``sources: null``/absent means the shipped default sources."""

    timezone: str = "UTC"
    sources: list[SourceConfig] | None = None
    channels: list[ChannelConfig] = Field(default_factory=list)
    countdowns: list[CountdownConfig] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    admin_channel: str | None = None  # channel name (e.g. "slack:C0123") for pause notices
    taxonomy: str | None = None
    poll: PollConfig = Field(default_factory=PollConfig)
    alerts_per_channel_per_poll: int = Field(default=5, ge=1, le=50)
    followups_per_story_per_hour: int = Field(default=3, ge=0, le=100)
    followups_per_channel_per_poll: int = Field(default=10, ge=0, le=500)
    digest_grace: int = 6 * 3600
    digest_top: int = Field(default=5, ge=1, le=20)
    retention_days: int = Field(default=365, ge=1, le=36500)
    milestones: list[int] = Field(default_factory=lambda: [30, 14, 7, 3, 1, 0])

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("digest_grace", mode="before")
    @classmethod
    def _grace(cls, value: Any) -> int:
        return bounded_duration(value, 0, 7 * 86400, "digest_grace")

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, value: list[int]) -> list[int]:
        return _check_milestones(value)


class Settings(BaseModel):
    """Everything the process needs, validated once. Secrets never appear in ``repr``."""

    model_config = ConfigDict(frozen=True)

    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    config_path: str | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    teams_outgoing_secret: SecretStr | None = None
    port: int = 3000
    allow_private_networks: bool = False
    file: FileConfig = Field(default_factory=FileConfig)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def teams_commands_enabled(self) -> bool:
        return self.teams_outgoing_secret is not None

    def slack_problem(self) -> str | None:
        """Why the Slack settings cannot serve commands, or None when they are coherent."""
        if self.slack_bot_token is not None:
            if self.slack_signing_secret is None and self.slack_app_token is None:
                return (
                    "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
                    "SLACK_APP_TOKEN (Socket Mode) is: set one of them"
                )
        elif self.slack_signing_secret is not None or self.slack_app_token is not None:
            return "SLACK_SIGNING_SECRET/SLACK_APP_TOKEN need SLACK_BOT_TOKEN as well"
        return None

    def source_specs(self) -> list[SourceSpec]:
        """Sources from the file, else the shipped defaults."""
        if self.file.sources is not None:
            return [s.spec() for s in self.file.sources]
        return default_source_specs()


# --------------------------------------------------------------------------- loading


def _secret(env: Mapping[str, str], name: str) -> SecretStr | None:
    value = env.get(name, "").strip()
    return SecretStr(value) if value else None


def load_settings(
    env: Mapping[str, str] | None = None, *, config_path: str | None = None
) -> Settings:
    """Read the environment and the config file once; raise ``ConfigError`` on any problem."""
    env = os.environ if env is None else env
    path = config_path or env.get("USCHINA_BOT_CONFIG") or None
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    file_config = load_config_file(path) if path else FileConfig()
    port_text = env.get("USCHINA_BOT_PORT", "3000").strip() or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"USCHINA_BOT_PORT must be a port number, got {port_text!r}")
    slack_token, slack_secret = (
        _secret(env, "SLACK_BOT_TOKEN"),
        _secret(env, "SLACK_SIGNING_SECRET"),
    )
    slack_app_token = _secret(env, "SLACK_APP_TOKEN")
    return Settings(
        database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        config_path=path,
        slack_bot_token=slack_token,
        slack_signing_secret=slack_secret,
        slack_app_token=slack_app_token,
        slack_api_url=env.get("SLACK_API_URL", "").strip() or None,
        teams_outgoing_secret=_secret(env, "TEAMS_OUTGOING_SECRET"),
        port=int(port_text),
        allow_private_networks=env.get("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "").strip()
        in ("1", "true", "yes"),
        file=file_config,
    )


def load_config_file(path: str) -> FileConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    return parse_config_text(text, name=path)


def parse_config_text(text: str, *, name: str = "config") -> FileConfig:
    """Validate YAML ``text``; errors name the key path, the line and what was expected."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        # from None: a YAML error quotes the offending line, which may hold a webhook URL
        raise _yaml_error(exc, name) from None
    try:
        data = yaml.safe_load(text)
    except ValueError as exc:  # an impossible date such as 2024-13-45
        line = _bad_timestamp_line(root)
        raise ConfigError(f"{name}: not a real date: {exc}", line=line) from exc
    except yaml.YAMLError as exc:
        # from None: a YAML error quotes the offending line, which may hold a webhook URL
        raise _yaml_error(exc, name) from None
    return _validate(data, root, name)


def _yaml_error(exc: yaml.YAMLError, name: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{name}: not valid YAML: {problem}", line=line)


def _bad_timestamp_line(node: yaml.Node | None) -> int | None:
    """Line of the first date-looking scalar that is not a real date."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":timestamp"):
            try:
                dt.date.fromisoformat(str(node.value)[:10])
            except ValueError:
                return int(node.start_mark.line) + 1
        return None
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [v for _, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        found = _bad_timestamp_line(child)
        if found:
            return found
    return None


def _validate(data: Any, root: yaml.Node | None, name: str) -> FileConfig:
    if data is None:
        return FileConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: the top level must be a mapping of keys", line=1)
    try:
        config = FileConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        # from None: pydantic's error quotes the input, which may be a webhook URL
        raise ConfigError(f"{name}: {message}", key=key, line=_line_of(root, loc)) from None
    _refuse_duplicate_channels(config, root, name)
    return config


def _refuse_duplicate_channels(config: FileConfig, root: yaml.Node | None, name: str) -> None:
    """Two channels with one name would silently share (or lose) subscriptions: refuse."""
    first_index: dict[str, int] = {}
    for index, channel in enumerate(config.channels):
        key = channel.name.strip().casefold()
        if key in first_index:
            first = _line_of(root, ("channels", first_index[key], "name"))
            line = _line_of(root, ("channels", index, "name"))
            raise ConfigError(
                f"{name}: channel name {channel.name!r} is used twice (lines {first} and "
                f"{line}); give each channel its own name",
                key=f"channels.{index}.name",
                line=line,
            )
        first_index[key] = index


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key_node = next((k for k, _ in node.value if k.value == part), None)
            if match is None:
                return line
            line = (key_node or match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def default_source_specs() -> list[SourceSpec]:
    """The shipped curated list (``bot/data/sources.yaml``)."""
    text = (resources.files("bot") / "data" / "sources.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return [SourceConfig.model_validate(s).spec() for s in data.get("sources", [])]
