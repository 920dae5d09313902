"""Typer's help renderer without the two imports `--help` never uses.

`typer.rich_utils` imports `rich.markdown` (which imports markdown-it-py: ~0.1 s) and `rich.traceback` (~0.04 s) at
module level, for help written in markdown mode and for pretty tracebacks. baton-lab uses neither (rich markup mode,
`pretty_exceptions_enable=False`), yet together they were almost half of what `baton-lab --help` cost on an idle
machine (0.32 s of the issue's 0.3 s budget). Upstream knows (fastapi/typer#1128 made rich_utils itself lazy; the
markdown import is still eager in typer 0.29).

So rich_utils is imported with two stand-in modules in place: their `Markdown` and `Traceback` import the real
class when first used and behave as it does. The stand-ins are removed from `sys.modules` right after, so any later
`import rich.markdown` (a notebook, another library) gets the real module.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _Markdown:
    """rich.markdown.Markdown, imported when typer first renders markdown-mode help."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from rich.markdown import Markdown

        return Markdown(*args, **kwargs)


class _Traceback:
    """rich.traceback.Traceback, imported when typer first renders a pretty traceback."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from rich.traceback import Traceback

        return Traceback(*args, **kwargs)

    @classmethod
    def from_exception(cls, *args: Any, **kwargs: Any) -> Any:
        from rich.traceback import Traceback

        return Traceback.from_exception(*args, **kwargs)


def load_rich_utils() -> types.ModuleType:
    """`typer.rich_utils`, imported without rich.markdown and rich.traceback when they are not loaded yet."""
    if "typer.rich_utils" in sys.modules:
        return sys.modules["typer.rich_utils"]
    stand_ins = {}
    for name, attr, cls in (("rich.markdown", "Markdown", _Markdown), ("rich.traceback", "Traceback", _Traceback)):
        if name not in sys.modules:
            module = types.ModuleType(name, f"stand-in for {name} while typer.rich_utils is imported")
            setattr(module, attr, cls)
            stand_ins[name] = sys.modules[name] = module
    try:
        from typer import rich_utils
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return rich_utils
