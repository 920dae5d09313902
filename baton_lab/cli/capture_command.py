"""`baton-lab capture`: snapshot the current baton (server, SQLite file or local cache) into the store."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from . import app
from ._common import (DbOption, JsonOption, Lab, Output, OutputOption, announce_created, choose_output, console,
                      err_console, print_json, user_errors)


@app.command("capture")
def capture_command(
    source: Annotated[str, typer.Option("--from", help="http://HOST:PORT of a session-baton server or memhall, its SQLite "
                                                       "file, or the local cache directory (~/.claude/loop/batons).",
                                        show_default=False)],
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace to capture (required for a server; "
                                                                                "default for files: all).")] = None,
    tenant: Annotated[Optional[str], typer.Option("--tenant", help="memhall tenant_id (SQLite captures).")] = None,
    token_env: Annotated[Optional[str], typer.Option("--token-env", help="NAME of the environment variable holding the "
                                                                         "bearer token (the token is never stored or printed).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait for the server (default 5; 2 with --hook).")] = None,
    hook: Annotated[bool, typer.Option("--hook", help="Run as a Claude Code hook: read the hook JSON from stdin, attach its "
                                                      "session id, always exit 0.")] = False,
    db: DbOption = None,
    output: OutputOption = None,
    json: JsonOption = False,
) -> None:
    """Snapshot the current baton into the store; a snapshot is added only when the content changed."""
    if hook:
        json = json or output is Output.json  # a hook never fails on its options
        _hook(source, namespace, tenant, token_env, timeout, db, json)
        return
    with user_errors():
        json = choose_output(output, json, (Output.table, Output.json)) is Output.json
        lab = Lab(db)
        result = lab.capture(source, namespace=namespace, tenant=tenant, token_env=token_env, timeout=timeout)
    if json:
        print_json(result.to_dict())
    else:
        console.print(str(result), markup=False)
    announce_created(lab)
    if not result.ok:
        err_console.print(f"error: {result.error}", markup=False, soft_wrap=True)
        err_console.print("hint: the failure is logged in the `captures` table; nothing in the store was changed.",
                          markup=False, soft_wrap=True)
        raise typer.Exit(1)


def _hook(source: str, namespace: str | None, tenant: str | None, token_env: str | None, timeout: float | None,
          db: object, json: bool) -> None:
    """Never fail, never block the agent: every problem becomes one line on stderr and exit code 0."""
    try:
        stdin_text = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
        result = Lab(db).capture(source, namespace=namespace, tenant=tenant, token_env=token_env, timeout=timeout,  # type: ignore[arg-type]
                                 hook_input=stdin_text)
    except Exception as exc:  # noqa: BLE001 - a hook must not break the session, whatever happened
        err_console.print(f"baton-lab capture: {exc}", markup=False, soft_wrap=True)
        return
    if json:
        print_json(result.to_dict())
    elif not result.ok:
        err_console.print(f"baton-lab capture: {result.error} (logged in `captures`)", markup=False, soft_wrap=True)
    else:
        console.print(str(result), markup=False)
