"""``python -m bot``: the uschina-bot command line."""

from bot.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    raise SystemExit(main())
