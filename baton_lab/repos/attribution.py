"""Which loop made each commit: rules over what real histories carry, first match wins.

| order | `loop_rule`           | evidence                                                                      |
|-------|-----------------------|-------------------------------------------------------------------------------|
| 1     | `user_mapping`        | a rule of the user's mapping file (author, e-mail, branch, subject, trailer)  |
| 2     | `agent_account`       | the author *is* an agent (`claude[bot]`, `Copilot`, `devin-ai-integration[bot]`, `Amp`, …) |
| 3     | `orchestrator_role`   | Gas Town role names (`rig/crew/name`, `rig/polecats/name`, `mayor`, …) or an `Executed-By:` line |
| 4     | `co_author_trailer` / `footer` | the first agent line of the message: `Co-authored-by:` naming an agent, or a marker (`Generated with [Claude Code]`, `Claude-Session:`, `Amp-Thread-ID:`, `Made with Cursor`) |
| 5     | `branch_name`         | the commit came in through a merged branch named `claude/…`, `codex/…`, `copilot/…`, … |
| 6     | `bot_account`         | `…[bot]`, a name with the word bot, `github-actions`, `Automated`, `actions@…` |
| —     | `none`                | no rule: `loop = "unassigned"` (a human's own commit, or an agent leaving no trace) |

A loop is `<class>:<author name casefolded, whitespace removed>` (`claude:radekcap`): one person driving
Claude Code is one loop, the same person driving Copilot another. Agents that share one e-mail (Gas Town)
are told apart by name. `writer` keeps the same key for unassigned commits (`human:radekcap`), so two humans
are still two actors. `agents` lists every agent a message names (a squash with two agent co-authors).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from pathlib import Path

import polars as pl

from ..errors import BatonLabError

UNASSIGNED = "unassigned"

# The author *is* an agent: (class, pattern over "name <email>"), case-insensitive.
AGENT_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("claude", r"^claude(\[bot\])? <|<noreply@anthropic\.com>|^claude-code"),
    ("copilot", r"^copilot <.*\+copilot@users\.noreply\.github\.com>|^copilot-swe-agent\[bot\]|^copilot <"),
    ("devin", r"^devin-ai-integration\[bot\]|^devin <"),
    ("jules", r"^google-labs-jules\[bot\]|^jules <"),
    ("codex", r"^chatgpt-codex-connector\[bot\]|^codex <"),
    ("cursor", r"^cursoragent|^cursor agent <"),
    ("factory", r"^factory-droid\[bot\]"),
    ("gemini", r"^gemini-code-assist\[bot\]"),
    ("amp", r"^amp <"),
    ("openhands", r"^openhands"),
)
GASTOWN_AUTHOR = r"^([\w.-]+/)?(crew|polecats)/[\w.-]+$|^([\w.-]+/)?(refinery|witness|deacon|mayor)$"
EXECUTED_BY = r"(?im)^executed-by:"
# Agent lines in a message, and the class each names (checked in this order on the first such line).
AGENT_LINE = (r"(?im)^\s*(co-authored-by:[^\n]*(claude|anthropic|copilot|\bamp\b|ampcode|cursor agent|cursoragent|gemini|"
              r"factory-droid|codex|devin|jules|openhands)[^\n]*|[^\n]*generated with \[?(claude code|codex|cursor|"
              r"copilot|gemini|amp)[^\n]*|claude-session:[^\n]*|[^\n]*claude\.ai/code/session_[^\n]*|amp-thread-id:[^\n]*|"
              r"[^\n]*made with cursor[^\n]*)$")
LINE_CLASSES: tuple[tuple[str, str], ...] = (
    ("claude", r"claude|anthropic"), ("copilot", r"copilot"), ("amp", r"\bamp\b|ampcode|amp-thread"),
    ("cursor", r"cursor"), ("gemini", r"gemini"), ("factory", r"factory-droid"), ("codex", r"codex"),
    ("devin", r"devin"), ("jules", r"jules"), ("openhands", r"openhands"),
)
BRANCH_PREFIXES = ("claude", "codex", "copilot", "cursor", "devin", "jules", "amp", "gemini", "openhands")
BOT_ACCOUNT = r"(?i)\[bot\]|\bbot\b|github-actions|automated|<actions@"
SESSION_ID = (r"(?im)^(?:claude-session|session-id|baton-session|amp-thread-id):\s*(\S+)|claude\.ai/code/session_(\w+)")
MAPPING_KEYS = ("author", "email", "committer", "branch", "subject", "message")


class MappingError(BatonLabError):
    hint = ('a mapping file is TOML: [[loops]] tables with `loop = "name"` and one or more of author, email, '
            "committer, branch, subject (shell globs) or message (a regular expression)")


def read_mapping(path: str | os.PathLike[str] | None) -> list[dict[str, str]]:
    """The user's rules: `[[loops]]` tables, each `loop = "nightly-triage"` plus conditions that must all hold."""
    if path is None:
        return []
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"no such mapping file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from None
    rules = data.get("loops", [])
    for i, rule in enumerate(rules, start=1):
        unknown = set(rule) - {"loop", *MAPPING_KEYS}
        if "loop" not in rule or unknown or not (set(rule) & set(MAPPING_KEYS)):
            raise MappingError(f"{path}: rule {i} needs `loop` and at least one of {', '.join(MAPPING_KEYS)}"
                               + (f" (unknown keys: {', '.join(sorted(unknown))})" if unknown else ""))
    return rules


def _glob(pattern: str) -> str:
    return "(?i)" + fnmatch.translate(pattern).replace("\\Z", "$")


def _mapping_expr(rules: list[dict[str, str]]) -> pl.Expr:
    columns = {"author": "author", "email": "author_email", "committer": "committer", "branch": "branch",
               "subject": "subject"}
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for rule in reversed(rules):   # built inside out, so the first rule wins
        cond = pl.lit(True)
        for key, value in rule.items():
            if key == "message":
                cond &= pl.col("message").str.contains(value)
            elif key in columns:
                cond &= pl.col(columns[key]).fill_null("").str.contains(_glob(value))
        expr = pl.when(cond).then(pl.lit(rule["loop"])).otherwise(expr)
    return expr


def _classify(text: pl.Expr, table: tuple[tuple[str, str], ...]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for cls, pattern in reversed(table):
        expr = pl.when(text.str.contains("(?i)" + pattern)).then(pl.lit(cls)).otherwise(expr)
    return expr


def merged_branches(commits: pl.DataFrame) -> dict[str, str]:
    """commit -> name of the branch that brought it in, from merge subjects ("Merge pull request #12 from
    owner/claude/fix-x", "Merge branch 'codex/y'"): a commit reachable from a merge's second parent but not
    from the history before it belongs to that branch (the innermost merge wins)."""
    pattern = re.compile(r"^Merge (?:pull request #\d+ from [^/\s]+/|(?:remote-tracking )?branch '(?:origin/)?)([^'\s]+)")
    parents = dict(zip(commits["commit"], commits["parents"].to_list()))
    mainline: set[str] = set()
    tip = commits["commit"][-1] if commits.height else None
    while tip:                        # the first-parent line of the tip is "the" branch, never a merged one
        mainline.add(tip)
        tip = (parents.get(tip) or [None])[0]
    branch: dict[str, str] = {}
    for commit, parent_list, message in commits.select("commit", "parents", "message").iter_rows():
        if len(parent_list) < 2 or not (m := pattern.match(message)):
            continue
        name = m.group(1)
        branch[commit] = name
        stack = list(parent_list[1:])
        while stack:
            c = stack.pop()
            if c in mainline or c in branch or c not in parents:
                continue
            branch[c] = name
            stack.extend(parents[c])
    return branch


def attribute(commits: pl.DataFrame, mapping: list[dict[str, str]] | None = None) -> pl.DataFrame:
    """Add `branch`, `agent_class`, `loop`, `loop_rule`, `writer`, `agents`, `session_id` to the commits frame."""
    branches = merged_branches(commits)
    frame = commits.with_columns(
        branch=pl.col("commit").replace_strict(branches, default=None, return_dtype=pl.String),
        ident=pl.col("author") + " <" + pl.col("author_email") + ">",
        agent_lines=pl.col("message").str.extract_all(AGENT_LINE),
    )
    first_line = pl.col("agent_lines").list.first()
    account = _classify(pl.col("ident"), AGENT_ACCOUNTS)
    gastown = pl.col("author").str.contains("(?i)" + GASTOWN_AUTHOR) | pl.col("message").str.contains(EXECUTED_BY)
    line_class = _classify(first_line, LINE_CLASSES)
    branch_prefix = pl.col("branch").str.extract(r"(?i)^(" + "|".join(BRANCH_PREFIXES) + ")/", 1).str.to_lowercase()
    bot = pl.col("ident").str.contains(BOT_ACCOUNT)
    mapped = _mapping_expr(mapping or [])
    frame = frame.with_columns(
        agent_class=pl.when(account.is_not_null()).then(account).when(gastown).then(pl.lit("gastown"))
        .when(line_class.is_not_null()).then(line_class).when(branch_prefix.is_not_null()).then(branch_prefix)
        .when(bot).then(pl.lit("bot")).otherwise(pl.lit("human")),
        loop_rule=pl.when(mapped.is_not_null()).then(pl.lit("user_mapping"))
        .when(account.is_not_null()).then(pl.lit("agent_account")).when(gastown).then(pl.lit("orchestrator_role"))
        .when(line_class.is_not_null()).then(pl.when(first_line.str.contains("(?i)^\\s*co-authored-by:"))
                                             .then(pl.lit("co_author_trailer")).otherwise(pl.lit("footer")))
        .when(branch_prefix.is_not_null()).then(pl.lit("branch_name"))
        .when(bot).then(pl.lit("bot_account")).otherwise(pl.lit("none")),
        mapped=mapped,
        agents=pl.col("agent_lines").list.eval(_classify(pl.element(), LINE_CLASSES)).list.concat(
            pl.concat_list(account)).list.drop_nulls().list.unique(maintain_order=True).list.join(","),
        session_id=pl.coalesce(pl.col("message").str.extract(SESSION_ID, 1), pl.col("message").str.extract(SESSION_ID, 2)),
    )
    name_key = pl.col("author").str.to_lowercase().str.replace_all(r"\s+", "")
    writer = pl.col("agent_class") + ":" + name_key
    return frame.with_columns(
        writer=writer,
        loop=pl.when(pl.col("mapped").is_not_null()).then(pl.col("mapped"))
        .when(pl.col("loop_rule") == "none").then(pl.lit(UNASSIGNED)).otherwise(writer),
        agents=pl.when(pl.col("agents") == "").then(None).otherwise(pl.col("agents")),
    ).drop("ident", "agent_lines", "mapped")
