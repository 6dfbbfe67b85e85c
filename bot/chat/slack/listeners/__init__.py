"""Bolt listeners, one module per Slack surface: slash command, buttons, App Home."""
