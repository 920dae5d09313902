"""Build small git repositories in tests: commits with chosen authors, committers, times, messages and files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

T0 = 1_767_225_600          # 2026-01-01 00:00 UTC
HOUR = 3600

CLAUDE_COAUTHOR = "Co-Authored-By: Claude <noreply@anthropic.com>"
COPILOT_COAUTHOR = "Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>"


class RepoBuilder:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def env(self, author: tuple[str, str], committer: tuple[str, str] | None, when: int) -> dict[str, str]:
        committer = committer or author
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                   GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1], GIT_AUTHOR_DATE=f"{when} +0000",
                   GIT_COMMITTER_NAME=committer[0], GIT_COMMITTER_EMAIL=committer[1], GIT_COMMITTER_DATE=f"{when} +0000")
        return env

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        base = env or self.env(("Builder", "builder@example.com"), None, T0)
        done = subprocess.run(["git", "-C", str(self.path), *args], env=base, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str | bytes | None] | None = None, *,
               author: tuple[str, str] = ("Ann Human", "ann@example.com"), committer: tuple[str, str] | None = None,
               when: int = T0) -> str:
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, env=self.env(author, committer, when))
        return self.git("rev-parse", "HEAD")

    def revert(self, sha: str, *, author: tuple[str, str], when: int) -> str:
        self.git("revert", "--no-edit", sha, env=self.env(author, None, when))
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, message: str, *, author: tuple[str, str], when: int) -> str:
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=self.env(author, None, when))
        return self.git("rev-parse", "HEAD")


def lines(*items: str) -> str:
    return "".join(f"{i}\n" for i in items)
