"""Wording of simulated items: small fixed pools, so output is readable and deterministic.

A few strings carry an apostrophe or non-ASCII text on purpose: writers must shell-quote and
encode them correctly (transcripts' single-quoted `curl -d`, `ensure_ascii=False`).
"""

from __future__ import annotations

import re

SERVICES = ("api", "worker", "scheduler", "search", "billing", "gateway", "auth", "metrics")
HOSTS = ("mini", "nas", "gpu-box", "edge-1")

ACTIONS = (
    "Deploy {svc} config change",
    "Restart {svc} after dependency bump",
    "Rotate {svc} TLS certificate",
    "Migrate {svc} database schema",
    "Move {svc} cron to systemd timer",
    "Raise {svc} worker pool size",
    "Switch {svc} logging to JSON",
    "Pin {svc} base image",
)
EXPECTED = (
    "{svc} answers 200 on /health",
    "{svc} keeps serving without errors",
    "no 5xx from {svc} in the next hour",
    "{svc} comes back within 30 s",
)

FOLLOW_UPS = (
    ("Write a runbook for {svc} restarts", "the last restart needed tribal knowledge"),
    ("Add an alert on {svc} error rate", "regressions were noticed by hand"),
    ("Clean up old {svc} backups", "the disk on {host} is at 85%"),
    ("Document the {svc} deploy steps", "steps live only in the baton"),
    ("Upgrade {svc} to the supported Python", "the current one is end-of-life"),
    ("Check why {svc} logs are noisy", "the signal is lost in the noise"),
    ("Review {svc} timeouts", "requests hang when {host} is slow"),
    ("{svc} のログ保存期間を見直す", "ディスク容量が足りない"),
)

# (what, category, severity) - v2 categories: infra_assumption, scope_creep, tool_misuse, deprecated_path, guessing.
PATTERNS = (
    ("Assumed {host} was reachable without checking", "infra_assumption", "high"),
    ("Didn't check the {svc} health endpoint after restart", "infra_assumption", "medium"),
    ("Edited files outside the task scope", "scope_creep", "medium"),
    ("Refactored {svc} while fixing an unrelated bug", "scope_creep", "low"),
    ("Used sed on JSON instead of jq", "tool_misuse", "low"),
    ("Ran the {svc} tests from the wrong directory", "tool_misuse", "medium"),
    ("Followed the deprecated handoff/latest.md path", "deprecated_path", "high"),
    ("Called the retired {svc} v1 endpoint", "deprecated_path", "medium"),
    ("Guessed the {svc} port instead of reading the config", "guessing", "medium"),
    ("Guessed a file path on {host}", "guessing", "low"),
    ("Forgot to reload {svc} after changing its config", "infra_assumption", "medium"),
    ("Cache auf {host} nicht invalidiert", "infra_assumption", "low"),
)
REMEDIES = {
    "infra_assumption": "verify with a command before acting",
    "scope_creep": "write a follow-up instead of widening the change",
    "tool_misuse": "use the purpose-built tool",
    "deprecated_path": "check deprecated_patterns first",
    "guessing": "read the source of truth before answering",
}
OCCURRENCE_CONTEXTS = (
    "during deploy",
    "while debugging a failing test",
    "in the morning check",
    "after a user report",
    "while reviewing a PR",
    "when the agent resumed from the baton",
)

# (topic, options): a decision picks one option and rejects some of the others.
DECISIONS = (
    ("the job queue", ("SQLite", "Postgres", "Redis streams", "a file spool")),
    ("secrets", ("environment variables", "a vault", "sops-encrypted files", "the OS keychain")),
    ("deploys", ("docker compose", "systemd units", "k3s", "plain rsync")),
    ("backups", ("restic", "borg", "rsync snapshots", "ZFS send")),
    ("the baton store", ("memhall", "the session-baton server", "a git-tracked file", "the local cache only")),
    ("monitoring", ("Prometheus", "Uptime Kuma", "cron + curl", "healthchecks.io")),
    ("CI", ("GitHub Actions", "a self-hosted runner", "pre-push hooks only", "Woodpecker")),
    ("the API framework", ("FastAPI", "Flask", "Starlette", "Litestar")),
    ("logs", ("journald", "Loki", "plain files with logrotate", "Vector to S3")),
    ("agent handoff", ("the baton only", "the baton plus NEXT_SESSION.md", "handoff/latest.md", "memhall episodes")),
)
WHYS = (
    "simplest thing that works on one machine",
    "the team already knows it",
    "it survived the last outage",
    "it's what the docs recommend",
)
EVIDENCE = (
    "benchmark in session notes",
    "incident from last week",
    "upstream docs",
    "a failed attempt with the alternative",
)

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 48) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].rstrip("-") or "rule"


def namespace_safe(namespace: str) -> str:
    """Session Baton's local-cache file name rule: `/` and `:` become `_`."""
    return namespace.replace("/", "_").replace(":", "_")
