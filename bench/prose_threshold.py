"""How the item-identity threshold was chosen: the score of each changed item's best candidate in the previous
version, on the real prose histories in ../shared/examples/histories.

    python bench/prose_threshold.py [--examples 6]

For every pair of consecutive versions and every tier, items whose normalised text is unchanged are exact matches;
for each remaining item of the newer version, the best-scoring remaining item of the older one is found with
`prose.identity.score`. The histogram of those best scores, and the pairs closest to the threshold on either side,
are what docs/prose-identity.md shows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baton_lab.importers import get_format  # noqa: E402
from baton_lab.importers.base import Record, SourceInfo  # noqa: E402
from baton_lab.prose.identity import THRESHOLD, normal_text, score  # noqa: E402

HISTORIES = Path(__file__).resolve().parents[2] / "shared" / "examples" / "histories"
CASES = [("Anguijm__sportsdata__SESSION_HANDOFF.md.bundle", "SESSION_HANDOFF.md", "handoff-markdown"),
         ("MakiDevelop__agent-memory-hall__NEXT_SESSION.md.bundle", "NEXT_SESSION.md", "handoff-markdown"),
         ("Enriquefft__post-shit-now__.planning__STATE.md.bundle", ".planning/STATE.md", "gsd-state"),
         ("Aycrith__gemDirect1__agent__.state__session-handoff.json.bundle", "agent/.state/session-handoff.json",
          "handoff-json")]


def versions(bundle: str, path: str, tmp: Path) -> list[str]:
    repo = tmp / bundle
    subprocess.run(["git", "clone", "-q", str(HISTORIES / bundle), str(repo)], check=True)
    commits = subprocess.run(["git", "-C", str(repo), "log", "--topo-order", "--reverse", "--format=%H", "--", path],
                             check=True, capture_output=True, text=True).stdout.split()
    return [subprocess.run(["git", "-C", str(repo), "show", f"{c}:{path}"], capture_output=True).stdout.decode()
            for c in commits]


def items(text: str, fmt_name: str) -> dict[str, list[str]]:
    import json

    fmt = get_format(fmt_name)
    doc = None
    if fmt.unit == "document":
        try:
            doc = json.loads(text)
        except ValueError:
            return {}
    obs = fmt.read(doc, Record(SourceInfo("x", "", None, "x"), None, text))
    return {s.table: [normal_text(e["text"]) for e in s.entries] for s in obs.sections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=6)
    args = parser.parse_args()
    best: list[tuple[float, str, str, str]] = []
    exact = 0
    with tempfile.TemporaryDirectory() as tmp:
        for bundle, path, fmt in CASES:
            texts = versions(bundle, path, Path(tmp))
            prev: dict[str, list[str]] = {}
            for text in texts:
                cur = items(text, fmt)
                for tier, now in cur.items():
                    before = list(prev.get(tier, []))
                    left = []
                    for t in now:
                        if t in before:
                            before.remove(t)
                            exact += 1
                        else:
                            left.append(t)
                    for t in left:
                        if before:
                            s, b = max((score(b, t), b) for b in before)
                            best.append((s, path, b, t))
                if cur:
                    prev = cur
    bins = Counter(min(int(s // 10) * 10, 90) for s, *_ in best)
    print(f"{exact:,} items carried over with identical text; {len(best):,} changed items with a candidate\n")
    print("| best score | changed items |")
    print("|---|---:|")
    for lo in range(0, 100, 10):
        print(f"| {lo}–{lo + 9 if lo < 90 else 100} | {bins.get(lo, 0)} |")
    below = sorted((x for x in best if x[0] < THRESHOLD), reverse=True)[:args.examples]
    above = sorted(x for x in best if x[0] >= THRESHOLD)[:args.examples]
    for title, rows in ((f"closest below {THRESHOLD:g} (kept apart)", below), (f"closest at or above {THRESHOLD:g} "
                                                                            "(matched)", above)):
        print(f"\n{title}:\n")
        print("| score | file | older | newer |")
        print("|---:|---|---|---|")
        for s, path, b, t in rows:
            print(f"| {s:.0f} | {path.rsplit('/', 1)[-1]} | {b[:70]} | {t[:70]} |")


if __name__ == "__main__":
    main()
