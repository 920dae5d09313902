"""A git repository of one baton file (`baton.json`, v1), one commit per session.

Commits are streamed into `git fast-import` with author/committer times set to the session's write
time and a fixed identity, so the commit ids depend only on the seed. `git-bundle` writes the same
history as `<namespace-safe>.bundle` (a nested .git directory cannot be checked into a repository).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..model import SessionSnapshot
from ..params import SimulationError
from ..text import namespace_safe
from ..render import V1Renderer

AUTHOR = b"Baton Sim <baton-sim@example.invalid>"
BRANCH = "main"


def git_env() -> dict[str, str]:
    """Ignore the user's git config (signing, hooks, default branch) so output is reproducible."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    return env


def run_git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, input=input, env=git_env(), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise SimulationError("the git format needs the `git` command", hint="install git, or leave out --format git") from None
    if done.returncode != 0:
        raise SimulationError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


class GitWriter:
    def __init__(self, root: Path, namespace: str, *, bundle: bool = False) -> None:
        self.root, self.bundle = root, bundle
        name = namespace_safe(namespace)
        self.repo = root / (f".{name}.tmp" if bundle else name)
        self.bundle_path = root / f"{name}.bundle"
        root.mkdir(parents=True, exist_ok=True)
        if self.repo.exists():
            shutil.rmtree(self.repo)
        run_git("init", "-q", "-b", BRANCH, str(self.repo))
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=self.repo,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(),
        )
        self.renderer = V1Renderer(pretty=True)
        self.commits = 0

    def add(self, snap: SessionSnapshot) -> None:
        content = self.renderer.text(snap.v1).encode("utf-8")
        message = f"baton: session {snap.session_id}\n".encode("utf-8")
        when = int(snap.written_at.timestamp())
        assert self.proc.stdin is not None
        self.proc.stdin.write(
            b"commit refs/heads/%s\n" % BRANCH.encode()
            + b"author %s %d +0000\n" % (AUTHOR, when)
            + b"committer %s %d +0000\n" % (AUTHOR, when + 5)
            + b"data %d\n%s" % (len(message), message)
            + b"M 100644 inline baton.json\n"
            + b"data %d\n%s\n" % (len(content), content)
        )
        self.commits += 1

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"done\n")
        self.proc.stdin.close()
        stderr = self.proc.stderr.read() if self.proc.stderr else b""
        if self.proc.wait() != 0:
            raise SimulationError(f"git fast-import failed: {stderr.decode(errors='replace').strip()}")
        if self.bundle:
            self.bundle_path.unlink(missing_ok=True)
            run_git("-c", "pack.threads=1", "bundle", "create", "-q", str(self.bundle_path.resolve()), BRANCH, cwd=self.repo)
            shutil.rmtree(self.repo)
        elif self.commits:
            run_git("checkout", "-q", "-f", BRANCH, cwd=self.repo)
        return 1


def commit_ids(repo: Path) -> list[str]:
    """Commit ids of a repository's branch, oldest first."""
    return run_git("rev-list", "--reverse", BRANCH, cwd=repo).decode().split()


def bundle_head(bundle: Path) -> str:
    """The branch tip a bundle carries; it fixes every commit before it."""
    return run_git("bundle", "list-heads", str(bundle)).decode().split()[0]
