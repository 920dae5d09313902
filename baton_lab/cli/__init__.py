"""The `baton-lab` command: thin commands over the library, one module per command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="baton-lab",
    help="Loop effectiveness research over Session Baton histories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules register themselves on `app` when imported.
from . import store_commands  # noqa: E402,F401
from . import simulate_command  # noqa: E402,F401
from . import capture_command  # noqa: E402,F401
from . import metrics_command  # noqa: E402,F401
from . import report_command  # noqa: E402,F401
from . import compare_command  # noqa: E402,F401


def main() -> None:
    app()
