"""The `baton-lab` command: thin commands over the library, one module per command group."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.25 carries its own copy of click; its exceptions are the ones raised
    from typer._click.core import Context
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer over click
    from click import Context
    from click.exceptions import NoArgsIsHelpError, UsageError


class _Commands(TyperGroup):
    """Usage mistakes (`--window 0`, a missing option, an unknown one) end like every other error: one
    `error:` line, a `hint:` line and exit code 1, instead of click's usage box and exit code 2."""

    def make_context(self, info_name: str | None, args: list[str], *rest: Any, **kwargs: Any) -> Context:
        if not args or "--help" in args:  # help is about to be rendered, here or by a command
            from ._help_render import load_rich_utils

            load_rich_utils()
        try:
            return super().make_context(info_name, args, *rest, **kwargs)
        except UsageError as exc:
            raise _usage_error(exc) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _usage_error(exc) from None


def _usage_error(exc: UsageError) -> Exception:
    if isinstance(exc, NoArgsIsHelpError):
        return exc  # `baton-lab` alone prints the help
    from ._common import print_error

    command = exc.ctx.command_path if exc.ctx is not None else "baton-lab"
    print_error(exc.format_message(), f"`{command} --help` lists the options")
    return typer.Exit(1)


app = typer.Typer(
    name="baton-lab",
    cls=_Commands,
    help="Loop effectiveness research over Session Baton histories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"baton-lab {version('baton-lab')}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    """Loop effectiveness research over Session Baton histories."""


# Command modules register themselves on `app` when imported.
from . import store_commands  # noqa: E402,F401
from . import check_command  # noqa: E402,F401
from . import simulate_command  # noqa: E402,F401
from . import capture_command  # noqa: E402,F401
from . import metrics_command  # noqa: E402,F401
from . import report_command  # noqa: E402,F401
from . import simulate_repo_command  # noqa: E402,F401
from . import compare_command  # noqa: E402,F401


def main() -> None:
    app()
