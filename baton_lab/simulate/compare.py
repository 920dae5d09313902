"""Realised ground truth per preset, as the Markdown table in docs/simulator.md:

    .venv/bin/python -m baton_lab.simulate.compare [--seed 1] [--sessions 300]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from .params import PRESETS
from .simulation import simulate

MACHINE = ("http", "file_exists", "process_running")


def realised(preset: str, *, seed: int = 1, sessions: int = 300) -> dict[str, Any]:
    """Headline ground truth of one namespace run with `preset`."""
    rows = simulate(preset, seed=seed, sessions=sessions).truth_rows()
    loops, fus, pats, decs = rows["loops"], rows["followups"], rows["patterns"], rows["decisions"]
    graduated = [r for r in pats if r["graduated_seq"] is not None]
    expected_before = sum(r["rate_before"] * r["sessions_after_graduation"] for r in graduated)
    gate = [r["confirmed_seq"] - r["candidate_seq"] for r in pats if r["confirmed_seq"] is not None]
    dropped = sum(r["dropped"] for r in loops)
    return {
        "loops created": len(loops),
        "machine-checkable share": f"{sum(r['verify_method'] in MACHINE for r in loops) / len(loops):.0%}",
        "loops ever checked": f"{sum(r['checked'] for r in loops) / len(loops):.0%}",
        "truly broke something": sum(r["broke_something"] for r in loops),
        "reported failed (L4 count)": sum(r["outcome"] == "failed" for r in loops),
        "… of which truly broke (caught)": sum(r["caught"] for r in loops),
        "broke but reported verified (missed)": sum(r["missed"] for r in loops),
        "silent drops (L6)": f"{dropped} ({dropped / len(loops):.0%})",
        "escalated at ttl": sum(r["outcome"] == "escalated" for r in loops),
        "follow-ups created": len(fus),
        "follow-ups resolved": f"{sum(r['outcome'] == 'resolved' for r in fus) / len(fus):.0%}",
        "follow-ups reaching defer 5": sum(r["escalated_seq"] is not None for r in fus),
        "patterns": len(pats),
        "rule candidates": sum(r["candidate_seq"] is not None for r in pats),
        "graduations": len(graduated),
        "gate violations (P7)": sum(r["violation"] for r in pats),
        "median gate latency, sessions (P5)": statistics.median(gate) if gate else "–",
        "recurrences after graduation": sum(r["occurrences_after_graduation"] for r in graduated),
        "post/pre-graduation rate ratio (P6)": (
            f"{sum(r['occurrences_after_graduation'] for r in graduated) / expected_before:.2f}" if expected_before else "–"
        ),
        "decisions superseded": sum(r["superseded_seq"] is not None for r in decs),
        "… of which reversals": sum(r["reversal_of"] is not None for r in decs),
        "unseen v2 revisions": len(rows["unseen_revisions"]),
    }


def markdown_table(*, seed: int = 1, sessions: int = 300, presets: tuple[str, ...] = tuple(PRESETS)) -> str:
    columns = {name: realised(name, seed=seed, sessions=sessions) for name in presets}
    first = next(iter(columns.values()))
    lines = [
        f"| realised (seed {seed}, {sessions} sessions, one namespace) | " + " | ".join(f"`{n}`" for n in presets) + " |",
        "|---|" + "---:|" * len(presets),
    ]
    for key in first:
        lines.append(f"| {key} | " + " | ".join(str(columns[n][key]) for n in presets) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m baton_lab.simulate.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args(argv)
    print(markdown_table(seed=args.seed, sessions=args.sessions))


if __name__ == "__main__":
    main()
