"""Starts delivery worker processes quickly for the SIGKILL test: imports once, forks each.

Reads commands on stdin, one per line: ``run LOGFILE ARG...`` forks a child that runs
``python -m bot.cli.deliver ARG...`` with its stderr appended to LOGFILE, and prints the child's
pid. Importing the application takes about a second; forking an already-imported
interpreter makes a fresh worker process in milliseconds, so a test can kill and restart
real worker processes a hundred times.
"""

from __future__ import annotations

import os
import signal
import sys

# Imported before forking: the point of this helper.
import bot.app
import bot.chat.slack.notifier
import bot.cli.deliver
from bot.taxonomy_file import default_taxonomy


def _child(logfile: str, argv: list[str]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    code = 1
    try:
        code = bot.cli.deliver.main(argv)
    finally:
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    default_taxonomy()  # the packaged taxonomy, validated once here rather than in each child
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "run":
            continue
        pid = os.fork()
        if pid == 0:
            _child(words[1], words[2:])
        print(pid, flush=True)


if __name__ == "__main__":
    main()
