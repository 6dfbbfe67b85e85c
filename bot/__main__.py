"""``python -m bot``: the uschina-bot command line."""

from bot.cli import main

raise SystemExit(main())
