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
    """Every first-party module ``path`` imports, at module level or inside functions."""
    return {m for m in imported_modules(path) if top(m) in ("bot", "jobs", "storage")}


def test_chat_reads_through_the_query_layer_not_storage_or_jobs() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in all_imports(p) if top(m) in ("storage", "jobs"))
        for p in py_files("bot", "chat")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
