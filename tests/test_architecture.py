"""The dependency rules of the code base, checked on the source (not on conventions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {
    "slack_bolt",
    "slack_sdk",
    "httpx",
    "httpcore",
    "sqlmodel",
    "sqlalchemy",
    "apscheduler",
    "aiohttp",
    "starlette",
    "uvicorn",
    "asyncpg",
    "aiosqlite",
    "alembic",
}
FORBIDDEN_IN_DOMAIN_CALLS = {"open", "input"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(module: str) -> str:
    return module.split(".", 1)[0]


def py_files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_domain_imports_no_io_library() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if top(m) in IO_LIBRARIES)
        for p in py_files("bot", "domain")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_imports_nothing_from_the_shell() -> None:
    shell = ("storage", "jobs", "bot.chat", "bot.sources", "bot.app", "bot.cli", "bot.config")
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m.startswith(shell) or m in ("os", "socket")
        )
        for p in py_files("bot", "domain")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_reads_no_clock_env_or_files() -> None:
    offenders = []
    for path in py_files("bot", "domain"):
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "date.today(", "time.time(", "os.environ", ".read_text("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_IN_DOMAIN_CALLS
            ):
                offenders.append(f"{path.name}: {node.func.id}()")
    assert offenders == []


def test_importing_the_domain_loads_no_io_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.domain.models, bot.domain.classify, bot.domain.render, "
        "bot.domain.parse, bot.domain.stories, bot.domain.commands, bot.domain.schedule;"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(IO_LIBRARIES)!r});"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_each_io_library_is_imported_in_its_own_place() -> None:
    allowed = {
        "apscheduler": {"jobs/scheduler.py"},
        "httpx": {"bot/sources/http.py", "bot/chat/teams/notifier.py"},
        "alembic": {"storage/db.py", "storage/migrations/env.py"},
    }
    for library, places in allowed.items():
        users = {
            str(p.relative_to(ROOT))
            for part in ("bot", "jobs", "storage")
            for p in py_files(part)
            if any(top(m) == library for m in imported_modules(p))
            and "migrations/versions" not in str(p)
        }
        assert users <= places, f"{library} imported outside {places}: {users - places}"


def test_storage_and_sources_do_not_import_chat() -> None:
    for part in (("storage",), ("bot", "sources")):
        for path in py_files(*part):
            bad = [m for m in imported_modules(path) if m.startswith(("bot.chat", "slack"))]
            assert bad == [], f"{path}: {bad}"


def all_imports(path: Path) -> set[str]:
    """Every first-party module ``path`` imports, at module level or inside functions
    (``from bot import actions`` counts as ``bot.actions``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = ROOT.joinpath(*node.module.split("."), alias.name)
                is_module = sub.with_suffix(".py").exists() or sub.is_dir()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
    return {m for m in found if top(m) in ("bot", "jobs", "storage")}


def test_chat_reads_through_the_query_layer_not_storage_or_jobs() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in all_imports(p) if top(m) in ("storage", "jobs"))
        for p in py_files("bot", "chat")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# --------------------------------------------------------------------------- layers
# Bottom-up: a module may import its own layer and the ones below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain", ("bot.domain",)),
    ("ports", ("bot.domain.ports",)),
    (
        "settings and support",
        ("bot.config", "bot.metrics", "bot.taxonomy_file", "bot.logging_setup"),
    ),
    ("adapters", ("storage", "bot.sources", "bot.chat.console")),
    ("jobs and queries", ("jobs",)),
    ("chat", ("bot.actions", "bot.chat")),
    ("composition root", ("bot.app",)),
    ("entry points", ("bot.web", "bot.cli", "bot.__main__")),
)
# Imports still running upwards: modules that take the whole ``App`` (annotations only).
# Shrink-only: when one is fixed, delete its line here (the test fails until then).
KNOWN_UPWARD: set[tuple[str, str]] = set()
CONCRETE_ADAPTERS = (
    "storage.store",
    "storage.db",
    "bot.sources.http",
    "bot.chat.slack.notifier",
    "bot.chat.teams.notifier",
    "bot.chat.console",
)
ENTRY_POINTS = ("bot.app", "bot.cli", "bot.web", "bot.__main__")
# Shell modules that still import a concrete adapter (shrink-only, like KNOWN_UPWARD).
KNOWN_CONCRETE_USERS: set[str] = set()
# Jobs that still import storage types instead of ports (shrink-only).
KNOWN_JOBS_ON_STORAGE: dict[str, list[str]] = {}


def layer_of(module: str) -> int:
    """The layer of the longest prefix that names ``module`` (``bot.domain.ports`` is ports)."""
    matches = [
        (len(p), index)
        for index, (_, prefixes) in enumerate(LAYERS)
        for p in prefixes
        if module == p or module.startswith(p + ".")
    ]
    assert matches, f"{module} is in no layer: add it to LAYERS"
    return max(matches)[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def first_party_files() -> list[Path]:
    return [
        p
        for part in ("bot", "jobs", "storage")
        for p in py_files(part)
        if "migrations" not in p.parts and module_name(p) not in ("bot", "jobs", "storage")
    ]


def test_every_first_party_import_points_down_the_layers() -> None:
    upward = set()
    for path in first_party_files():
        me = module_name(path)
        for target in all_imports(path):
            if layer_of(target) > layer_of(me):
                upward.add((me, target))
    assert upward - KNOWN_UPWARD == set(), "imports running up the layers"
    assert KNOWN_UPWARD - upward == set(), "fixed: remove these from KNOWN_UPWARD"


def test_jobs_do_not_import_storage_outside_known_cases() -> None:
    on_storage = {
        module_name(p): sorted(m for m in all_imports(p) if top(m) == "storage")
        for p in py_files("jobs")
    }
    assert {k: v for k, v in on_storage.items() if v} == KNOWN_JOBS_ON_STORAGE


def test_only_entry_points_build_concrete_adapters() -> None:
    users = set()
    for path in first_party_files():
        me = module_name(path)
        if me.startswith(ENTRY_POINTS) or me.startswith(("storage", "bot.sources")):
            continue
        for target in all_imports(path):
            if target.startswith(CONCRETE_ADAPTERS) and not me.startswith(target.rsplit(".", 1)[0]):
                users.add(me)
    assert users == KNOWN_CONCRETE_USERS


# Function-level first-party imports hide ties between modules. Each one needs a comment on
# the import line saying why (``# heavy: httpx`` for a slow dependency kept off start-up, a
# cycle, a worker entry point); everything else is imported at the top of the module.


def unexplained_local_imports(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    module_level = {id(n) for n in tree.body}
    for node in tree.body:
        if isinstance(node, ast.If | ast.Try):
            module_level.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in module_level or not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        first_party = any(n and top(n) in ("bot", "jobs", "storage") for n in names)
        if first_party and "#" not in lines[node.lineno - 1]:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_function_level_first_party_imports_say_why() -> None:
    found = [hit for p in first_party_files() for hit in unexplained_local_imports(p)]
    assert found == []


# ``raise ... from None`` hides the cause from whoever reads the traceback. Keep the cause
# (``from exc``) unless it would leak a secret or say nothing; then say so in a comment on the
# ``raise`` line or the line just above it.
def unexplained_from_none(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (
            isinstance(node, ast.Raise)
            and isinstance(node.cause, ast.Constant)
            and node.cause.value is None
        ):
            continue
        here = lines[node.lineno - 1]
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        if "#" not in here and not above.startswith("#"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_from_none_says_why() -> None:
    found = [
        hit
        for part in ("bot", "jobs", "storage")
        for p in py_files(part)
        for hit in unexplained_from_none(p)
    ]
    assert found == []


# What a notifier can do is declared (``bot.domain.ports``: ``Notifier.can_find_sent`` and the
# capability protocols) and read with ``isinstance``, never probed by attribute name.
def test_notifier_capabilities_are_not_probed_by_name() -> None:
    probes = []
    for path in first_party_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and "notifier" in ast.unparse(node.args[0]).lower()
            ):
                probes.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert probes == []
