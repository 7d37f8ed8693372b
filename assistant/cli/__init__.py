"""The terminal layer: the Click group and commands, rendering, streaming and the chat loop."""

from assistant.cli.main import cli, main

__all__ = ["cli", "main"]
