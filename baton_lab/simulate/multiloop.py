"""Multi-loop mode: several loops commit to one git repository, with known conflicts, reverts and rework.

    from baton_lab.simulate.multiloop import simulate_repository
    truth = simulate_repository("out/repo", seed=3, commits=200)
    truth.pairs["explicit"]     # {(reverting commit, reverted commit), ...}

Each step one loop acts (seeded): an *edit* inserts new, unique lines into a file; a *line undo* removes
lines another loop added within the last days and adds one of its own; an *identity revert* silently
restores a file to its state before another loop's latest change to it; an *explicit revert* is git's
`Revert "…"` + `This reverts commit <id>` of another loop's recent change; a *rework chain* is one loop's
change followed by 1–3 "fix:" changes replacing its own new lines (the first fix reporting "2/8 FAIL").
Noise the detectors must not mistake for conflicts: a *move* re-indents and relocates another loop's lines
(a formatting change: no undo), and some line undos are titled `revert: …` (not a git revert, so not
explicit). Because every line is unique and edits only insert, nothing else happens by accident: the ground
truth is exact. Line ownership follows `git blame` (a moved line belongs to the mover). The repository is written by one `git fast-import`; commit ids are computed here (flat tree,
fixed identities and times) so revert messages can name them, and checked against git's afterwards.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .params import SimulationError
from .writers.git import run_git

T0 = 1_767_225_600          # 2026-01-01 00:00 UTC
CLAUDE = "Co-Authored-By: Claude <noreply@anthropic.com>"
CODEX = "Co-authored-by: Codex <codex@openai.com>"


@dataclass(frozen=True)
class Loop:
    key: str                 # the loop the importer must assign
    name: str
    email: str
    trailer: str = ""


LOOPS = (
    Loop("claude:alice", "Alice", "alice@example.com", CLAUDE),
    Loop("copilot:copilot", "Copilot", "175728472+Copilot@users.noreply.github.com"),
    Loop("gastown:rig/crew/max", "rig/crew/max", "mayor@example.com"),
    Loop("codex:bruno", "Bruno", "bruno@example.com", CODEX),
    Loop("unassigned", "Hana Human", "hana@example.com"),
)
# action weights per step
ACTIONS = {"edit": 0.56, "line_undo": 0.12, "identity": 0.08, "explicit": 0.06, "rework": 0.12, "move": 0.06}
CONVENTIONAL_REVERT = 0.3   # share of line undos titled "revert: …" (not a git revert: only line level finds them)


@dataclass
class Commit:
    sha: str
    loop: str
    time: int
    subject: str
    files: dict[str, tuple[str, ...]]         # path -> content after (only the files it changed)


@dataclass
class RepoTruth:
    """What really happened: pairs (undoing commit, undone commit) per class and the rework chains."""

    path: Path
    seed: int
    commits: list[Commit] = field(default_factory=list)
    pairs: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: {"explicit": set(), "identity": set(),
                                                                             "line_undo": set()})
    chains: list[tuple[str, str, int]] = field(default_factory=list)   # first, last, length

    def loops(self) -> dict[str, str]:
        return {c.sha: c.loop for c in self.commits}

    def to_json(self) -> dict:
        return {"seed": self.seed, "commits": [{"commit": c.sha, "loop": c.loop, "time": c.time, "subject": c.subject}
                                               for c in self.commits],
                "pairs": {k: sorted(v) for k, v in self.pairs.items()},
                "rework_chains": [{"first": a, "last": b, "length": n} for a, b, n in self.chains]}


def _blob(content: tuple[str, ...]) -> bytes:
    return "".join(line + "\n" for line in content).encode()


def _sha(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


class _Writer:
    """Keeps the tree, computes object ids exactly as git does, and accumulates the fast-import stream."""

    def __init__(self) -> None:
        self.tree: dict[str, tuple[str, ...]] = {}
        self.blobs: dict[str, str] = {}
        self.parent: str | None = None
        self.stream: list[bytes] = []
        self.marks = 0

    def commit(self, loop: Loop, when: int, message: str, changes: dict[str, tuple[str, ...] | None]) -> str:
        for path, content in changes.items():
            if content is None:
                self.tree.pop(path, None)
                self.blobs.pop(path, None)
            else:
                self.tree[path] = content
                self.blobs[path] = _sha("blob", _blob(content))
        entries = b"".join(b"100644 " + p.encode() + b"\0" + bytes.fromhex(self.blobs[p]) for p in sorted(self.tree))
        tree = _sha("tree", entries)
        ident = f"{loop.name} <{loop.email}> {when} +0000"
        text = f"tree {tree}\n" + (f"parent {self.parent}\n" if self.parent else "") + \
            f"author {ident}\ncommitter {ident}\n\n{message}"
        sha = _sha("commit", text.encode())
        msg = message.encode()
        self.marks += 1
        out = [b"commit refs/heads/main\n", f"mark :{self.marks}\n".encode(), f"author {ident}\ncommitter {ident}\n".encode(),
               f"data {len(msg)}\n".encode(), msg, b"\n"]
        if self.parent:
            out.append(f"from :{self.marks - 1}\n".encode())
        for path, content in changes.items():
            if content is None:
                out.append(f"D {path}\n".encode())
            else:
                data = _blob(content)
                out += [f"M 100644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        self.stream += out + [b"\n"]
        self.parent = sha
        return sha


def simulate_repository(out: str | Path, *, seed: int = 0, commits: int = 200, files: int = 8,
                        overwrite: bool = True) -> RepoTruth:
    """Write the repository to `out` (a fresh git directory, branch main) and return its ground truth.
    `commits` is a minimum: a rework chain that starts near the end is completed.
    `truth.json` beside the repository holds the same facts."""
    if commits < 1 or files < 1:
        raise SimulationError(f"--commits and --files must be at least 1 (got {commits} commits, {files} files)",
                              hint="`baton-lab simulate-repo --help` lists the options")
    out = Path(out)
    if out.exists():
        if not overwrite:
            raise SimulationError(f"{out} exists", hint="pass overwrite=True or another directory")
        shutil.rmtree(out)
    rng = random.Random(seed)
    w = _Writer()
    truth = RepoTruth(out, seed)
    by_loop = {lp.key: lp for lp in LOOPS}
    now = T0
    serial = 0
    history: dict[str, list[tuple[int, tuple[str, ...] | None]]] = {}   # path -> [(commit index, content after)]
    owner: dict[tuple[str, str], int] = {}   # (path, line) -> commit that (re-)added it last: what blame would say

    def new_lines(loop: str, n: int) -> list[str]:
        nonlocal serial
        serial += 1
        return [f"{loop}|{serial}|{i}|{rng.getrandbits(32):08x}" for i in range(n)]

    def record(loop: str, subject: str, message: str, changes: dict[str, tuple[str, ...] | None]) -> int:
        nonlocal now
        now += rng.randint(600, 5400)
        idx = len(truth.commits)
        for path, content in changes.items():
            before = set(w.tree.get(path, ()))
            for ln in content or ():
                if ln not in before:
                    owner[path, ln] = idx
        sha = w.commit(by_loop[loop], now, message, changes)
        truth.commits.append(Commit(sha, loop, now, subject, {p: c for p, c in changes.items() if c is not None}))
        for path, content in changes.items():
            history.setdefault(path, []).append((idx, content))
        return idx

    def edit(loop: str, path: str, subject: str, body: str = "") -> int:
        content = list(w.tree.get(path, ()))
        lines = new_lines(loop, rng.randint(1, 4))
        at = rng.randint(0, len(content))
        content[at:at] = lines
        return record(loop, subject, with_trailer(loop, subject + (f"\n\n{body}" if body else "")), {path: tuple(content)})

    def with_trailer(loop: str, message: str) -> str:
        trailer = by_loop[loop].trailer
        return message + (f"\n\n{trailer}" if trailer else "") + "\n"

    def live(idx: int, path: str) -> list[str]:
        return [ln for ln in w.tree.get(path, ()) if owner.get((path, ln)) == idx]

    def recent_other(loop: str, days: float = 4, most: int = 60) -> list[int]:
        found = []
        for i in range(len(truth.commits) - 1, max(-1, len(truth.commits) - 1 - most), -1):
            if now - truth.commits[i].time >= days * 86400:
                break
            if truth.commits[i].loop != loop:
                found.append(i)
        return found

    paths = [f"module_{k}.txt" for k in range(files)]   # a flat tree: its id is computed above
    for path in paths:   # a shared starting point written by the human
        edit("unassigned", path, f"add {path}")
    while len(truth.commits) < commits:
        loop = rng.choice(LOOPS).key
        action = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        if action == "line_undo":
            options = [(i, p) for i in recent_other(loop) for p in truth.commits[i].files if live(i, p)]
            if options:
                i, path = rng.choice(options)
                gone = set(rng.sample(live(i, path), rng.randint(1, len(live(i, path)))))
                content = [ln for ln in w.tree[path] if ln not in gone]
                mine = new_lines(loop, 1)
                content.insert(rng.randint(0, len(content)), mine[0])
                title = f"revert: drop lines from {path}" if rng.random() < CONVENTIONAL_REVERT else f"simplify {path}"
                j = record(loop, title, with_trailer(loop, title), {path: tuple(content)})
                truth.pairs["line_undo"].add((truth.commits[j].sha, truth.commits[i].sha))
                continue
        if action == "identity":
            # the file's latest change is another loop's, and the file existed before it
            options = [(p, h) for p, h in history.items() if len(h) >= 2 and truth.commits[h[-1][0]].loop != loop
                       and h[-2][1] is not None and now - truth.commits[h[-1][0]].time < 4 * 86400]
            if options:
                path, h = rng.choice(options)
                i = h[-1][0]
                j = record(loop, f"restore {path}", with_trailer(loop, f"restore {path}"), {path: h[-2][1]})
                truth.pairs["identity"].add((truth.commits[j].sha, truth.commits[i].sha))
                continue
        if action == "explicit":
            # another loop's recent change whose files nobody touched since (a clean revert)
            options = [i for i in recent_other(loop) if truth.commits[i].files
                       and all(history[p][-1][0] == i and len(history[p]) >= 2 for p in truth.commits[i].files)]
            if options:
                i = rng.choice(options)
                target = truth.commits[i]
                restore = {p: history[p][-2][1] for p in target.files}
                message = with_trailer(loop, f'Revert "{target.subject}"\n\nThis reverts commit {target.sha}.')
                j = record(loop, f'Revert "{target.subject}"', message, restore)
                truth.pairs["explicit"].add((truth.commits[j].sha, target.sha))
                continue
        if action == "rework":
            path = rng.choice(paths)
            chain = [edit(loop, path, f"feat: extend {path}")]
            for k in range(rng.randint(1, 3)):
                previous = chain[-1]
                old = live(previous, path)
                if not old:
                    break
                victim = rng.choice(old)
                content = list(w.tree[path])
                mine = new_lines(loop, 1)
                content[content.index(victim)] = mine[0]
                body = "Tests: 2/8 FAIL before this change." if k == 0 else "8/8 PASS"
                subject = f"fix: {path} edge case {k + 1}"
                idx = record(loop, subject, with_trailer(loop, f"{subject}\n\n{body}"), {path: tuple(content)})
                truth.pairs["line_undo"].add((truth.commits[idx].sha, truth.commits[previous].sha))
                chain.append(idx)
            if len(chain) > 1:
                truth.chains.append((truth.commits[chain[0]].sha, truth.commits[chain[-1]].sha, len(chain)))
            continue
        if action == "move":
            # re-indent and relocate a block of another loop's lines: removed and added again, stripped text equal
            path = rng.choice(paths)
            content = list(w.tree.get(path, ()))
            starts = [i for i in range(len(content)) if truth.commits[owner[path, content[i]]].loop != loop]
            if starts:
                at = rng.choice(starts)
                block = content[at:at + rng.randint(1, 3)]
                del content[at:at + len(block)]
                to = rng.randint(0, len(content))
                content[to:to] = ["  " + ln for ln in block]
                record(loop, f"format {path}", with_trailer(loop, f"format {path}"), {path: tuple(content)})
                continue
        edit(loop, rng.choice(paths), f"work on {rng.choice(paths)}")

    out.mkdir(parents=True)
    run_git("init", "-q", "-b", "main", str(out))
    run_git("fast-import", "--quiet", "--done", cwd=out, input=b"".join(w.stream) + b"done\n")
    tip = run_git("rev-parse", "main", cwd=out).decode().strip()
    if tip != truth.commits[-1].sha:
        raise SimulationError(f"commit ids computed by the simulator differ from git's ({tip} != {truth.commits[-1].sha})")
    run_git("checkout", "-q", "main", cwd=out)
    (out.parent / f"{out.name}.truth.json").write_text(json.dumps(truth.to_json(), indent=1), encoding="utf-8")
    return truth


def evaluate(truth: RepoTruth, conflicts, rework, changes) -> dict[str, dict[str, int]]:  # noqa: ANN001 - polars frames
    """True/false positives and misses per conflict class (pairs of commits), for rework chains (first, last,
    length) and for loop attribution, from the importer's `conflicts`, `rework` and `changes` frames."""
    out: dict[str, dict[str, int]] = {}
    for kind, expected in truth.pairs.items():
        rows = conflicts.filter((conflicts["kind"] == kind) & conflicts["undone_commit"].is_not_null())
        found = set(rows.select("commit", "undone_commit").unique().iter_rows())
        out[kind] = {"tp": len(found & expected), "fp": len(found - expected), "fn": len(expected - found)}
    chains = set(rework.select("first_commit", "last_commit", "length").iter_rows())
    expected_chains = set(truth.chains)
    out["rework"] = {"tp": len(chains & expected_chains), "fp": len(chains - expected_chains),
                     "fn": len(expected_chains - chains)}
    loops = dict(changes.select("commit", "loop").iter_rows())
    right = sum(loops.get(sha) == loop for sha, loop in truth.loops().items())
    out["attribution"] = {"tp": right, "fp": len(truth.commits) - right, "fn": len(truth.commits) - right}
    return out
