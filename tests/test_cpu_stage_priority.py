"""The parsing workers run at a lower CPU priority than the bot, which serves chat requests."""

from __future__ import annotations

import os

from bot.domain.ingest import Judge
from bot.taxonomy_file import default_taxonomy
from jobs.cpu import WORKER_NICENESS, CpuStage


def test_workers_run_below_the_bots_priority() -> None:
    stage = CpuStage(Judge(default_taxonomy()), workers=1, taxonomy_path=None)
    stage.start()
    try:
        assert stage._pool is not None
        worker = stage._pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=60)
    finally:
        stage.close()
    bot = os.getpriority(os.PRIO_PROCESS, 0)
    assert worker == min(bot + WORKER_NICENESS, 19)
    assert worker > bot or bot == 19
