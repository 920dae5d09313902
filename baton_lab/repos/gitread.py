"""Read a repository's history through git itself: two `git log` runs parsed in bulk, no per-commit processes.

* `commits()` — one `git log -z` over every commit reachable from the ref: ids, parents, both identities and
  clocks, the full message.
* `changes()` — one `git log --raw -p` over the non-merge commits: per file the blob ids before/after
  (identity reverts), the status (renames detected as `git log` does), and every added/removed line
  (line-level undo; the default context, so counts agree with `--numstat`). Lines are parsed as one polars column, not line by line in Python.

The importer does not care what the lines say: a history whose contents are line hashes reads the same.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..errors import BatonLabError

NULL_BLOB = "0" * 40
_FIELDS = ("commit", "parents", "author", "author_email", "committer", "committer_email", "authored_s",
           "committed_s", "authored_iso", "committed_iso", "message")
_COMMIT_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%at%x1f%ct%x1f%aI%x1f%cI%x1f%B"
_MARK = "\x01"   # starts the header line of each commit in the patch log


class RepositoryError(BatonLabError):
    hint = "pass the path of a git repository (a clone, or a directory with .git); `git -C PATH log` must work."


def git_env() -> dict[str, str]:
    """The user's git config must not change what is read (pagers, colour, quoting, external diff drivers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C", GIT_PAGER="cat")
    return env


def git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), "-c", "core.quotePath=false", *args], env=git_env(),
                              capture_output=True, check=False)
    except FileNotFoundError:
        raise RepositoryError("importing a repository needs the `git` command", hint="install git") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise RepositoryError(f"git {args[0]} failed in {repo}: {message[0] if message else done.returncode}")
    return done.stdout


@dataclass(frozen=True)
class Head:
    repo: Path
    ref: str
    tip: str
    branch: str = ""   # the ref's short branch name ("main"), empty when detached


def resolve(path: str | os.PathLike[str], ref: str | None = None) -> Head:
    """The repository root and the commit its history is read from (default: HEAD, else `main`/`master`)."""
    repo = Path(path)
    if not repo.exists():
        raise RepositoryError(f"no such directory: {repo}")
    git(repo, "rev-parse", "--git-dir")
    candidates = [ref] if ref else ["HEAD", "main", "master"]
    for name in candidates:
        try:
            tip = git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").decode().strip()
        except RepositoryError:
            continue
        if tip:
            try:
                branch = git(repo, "rev-parse", "--abbrev-ref", name).decode().strip()
            except RepositoryError:
                branch = ""
            return Head(repo, name, tip, "" if branch == "HEAD" else branch)
    raise RepositoryError(f"{repo}: no commit at {' / '.join(candidates)}",
                          hint="pass --ref BRANCH (a bundle clone needs `-b main`)")


def commits(head: Head) -> pl.DataFrame:
    """One row per commit reachable from the tip, parents before children (`--topo-order --reverse`)."""
    out = git(head.repo, "log", "-z", "--topo-order", "--reverse", "--no-show-signature",
              f"--format={_COMMIT_FORMAT}", head.tip)
    records = [r.split("\x1f", len(_FIELDS) - 1) for r in out.decode("utf-8", errors="replace").split("\x00") if r]
    frame = pl.DataFrame(records, schema=list(_FIELDS), orient="row")
    return frame.with_columns(
        pl.col("authored_s", "committed_s").cast(pl.Int64),
        pl.col("parents").str.split(" ").list.eval(pl.element().filter(pl.element() != "")),
        pl.col("message").str.strip_chars_end("\n"),
    ).with_columns(subject=pl.col("message").str.split("\n").list.first().fill_null("")).with_row_index("order")


def _unquote(path: str) -> str:
    """git's C-style quoting of unusual paths ("a\\tb", octal escapes for bytes)."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    body = path[1:-1].encode("latin-1", errors="backslashreplace").decode("unicode_escape")
    return body.encode("latin-1", errors="replace").decode("utf-8", errors="replace")


_RAW = re.compile(r"^:(\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])(\d*)\t(.*)$")


@dataclass
class Changes:
    files: pl.DataFrame   # commit, file_no, status, old_path, path, old_blob, new_blob, is_binary
    lines: pl.DataFrame   # commit, file_no, sign (+1 added / -1 removed), text


def changes(head: Head) -> Changes:
    """Per-file changes and added/removed lines of every non-merge commit (renames detected)."""
    out = git(head.repo, "log", "--topo-order", "--reverse", "--no-merges", "--raw", "-p", "-M",
              "--no-abbrev", "--no-ext-diff", "--no-textconv", "--no-color", f"--format={_MARK}%H", head.tip)
    text = pl.Series("line", out.decode("utf-8", errors="replace").split("\n"), dtype=pl.String)
    frame = pl.DataFrame([text]).with_columns(
        head=pl.col("line").str.starts_with(_MARK),
        raw=pl.col("line").str.starts_with(":"),
        diff=pl.col("line").str.starts_with("diff --git "),
        hunk=pl.col("line").str.starts_with("@@"),
        binary=pl.col("line").str.starts_with("Binary files ") | (pl.col("line") == "GIT binary patch"),
    ).with_columns(
        commit=pl.when(pl.col("head")).then(pl.col("line").str.slice(1)).forward_fill(),
        seen=pl.col("diff").cum_sum(),
        # inside a hunk from its @@ line until the next file or commit: only there are +/- lines content
        in_hunk=pl.when(pl.col("hunk")).then(True).when(pl.col("diff") | pl.col("head")).then(False)
        .forward_fill().fill_null(False),
    )
    # file numbers restart per commit: subtract the count at the commit's header
    frame = frame.with_columns(file_no=pl.col("seen") - pl.col("seen").first().over("commit") - 1)

    raw = frame.filter(pl.col("raw")).select("commit", "line")
    parsed = raw["line"].str.extract_groups(_RAW.pattern)
    files = pl.concat([raw.select("commit"), parsed.struct.unnest()], how="horizontal").rename(
        {"1": "old_mode", "2": "new_mode", "3": "old_blob", "4": "new_blob", "5": "status", "6": "score", "7": "paths"})
    files = files.with_columns(pl.int_range(pl.len()).over("commit").alias("file_no"),
                               pl.col("paths").str.split("\t"))
    files = files.with_columns(
        old_path=pl.col("paths").list.first().map_elements(_unquote, return_dtype=pl.String),
        path=pl.col("paths").list.last().map_elements(_unquote, return_dtype=pl.String),
    ).drop("paths", "score")
    binaries = frame.filter(pl.col("binary")).select("commit", "file_no").unique().with_columns(is_binary=pl.lit(True))
    files = files.join(binaries, on=["commit", "file_no"], how="left").with_columns(pl.col("is_binary").fill_null(False))

    lines = frame.filter(pl.col("in_hunk") & ~pl.col("hunk")).with_columns(first=pl.col("line").str.slice(0, 1))
    lines = lines.filter(pl.col("first").is_in(["+", "-"])).select(
        "commit", pl.col("file_no").cast(pl.Int64),
        sign=pl.when(pl.col("first") == "+").then(1).otherwise(-1).cast(pl.Int8),
        text=pl.col("line").str.slice(1),
    )
    return Changes(files.with_columns(pl.col("file_no").cast(pl.Int64)), lines)


CHECK_NOTES = r"(?i)(ci|check|build|status|test)"


def check_notes(head: Head) -> pl.DataFrame:
    """commit, note: git notes under refs/notes/* named like a check (ci, checks, build-status, tests), where CI
    systems record a commit's status (one `git log --notes` per such ref; none when the repository has no notes)."""
    refs = [r for r in git(head.repo, "for-each-ref", "--format=%(refname)", "refs/notes").decode().split()
            if re.search(CHECK_NOTES, r.removeprefix("refs/notes/"))]
    rows: list[tuple[str, str]] = []
    for ref in refs:
        out = git(head.repo, "log", "-z", f"--notes={ref}", "--format=%H%x1f%N", head.tip).decode("utf-8", errors="replace")
        rows += [(c, n.strip()) for c, _, n in (r.partition("\x1f") for r in out.split("\x00") if r) if n.strip()]
    return pl.DataFrame(rows, schema={"commit": pl.String, "note": pl.String}, orient="row").group_by(
        "commit", maintain_order=True).agg(pl.col("note").str.join("\n"))
