"""Headline tables for a write-up, in LaTeX (booktabs) and Markdown, from the same rows as the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import _format
from ._templates import markdown_text

if TYPE_CHECKING:
    from ._build import Report

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  # pdflatex's default encoding has no glyph for these (and prints ¡ ¿ for < >)
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "∞": r"$\infty$", "−": "$-$",
                  "–": "--", "—": "---", "÷": r"$\div$", "≥": r"$\geq$", "≤": r"$\leq$", "×": r"$\times$"}


def latex_text(value: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(value))


def _headline_rows(report: "Report") -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    counts = report.result.counts
    keys = list(next(iter(counts.values()), {}))
    count_rows = [[ns, *(_format.number(c[k]) for k in keys)] for ns, c in counts.items()]
    metric_head = ["question", "measure", "estimate [95% CI]", "n", "interval"]
    metric_rows = []
    for q in report.questions:
        for e in q.primary + q.secondary:
            row = e.row
            metric_rows.append([q.key, f"{e.code} {e.label}", _format.estimate(row) if row else "not computed",
                                _format.sample(row) if row else "", _format.method(row) if row else ""])
    return ["namespace", *(k.replace("_", " ") for k in keys)], count_rows, metric_head, metric_rows


def _latex_table(head: list[str], rows: list[list[str]], caption: str, label: str, align: str) -> str:
    lines = [r"\begin{table}[ht]", r"\centering", r"\small", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(latex_text(h) for h in head) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_text(v) for v in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_text(caption)}}}", rf"\label{{{label}}}",
              r"\end{table}", ""]
    return "\n".join(lines)


def _markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(markdown_text(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_headline_tables(report: "Report", out: Path) -> list[Path]:
    count_head, count_rows, metric_head, metric_rows = _headline_rows(report)
    shown = report.namespace
    counts_tex = _latex_table(count_head, count_rows, "Headline counts per namespace (baton_lab).",
                              "tab:baton-headline-counts", "l" + "r" * (len(count_head) - 1))
    metrics_tex = _latex_table(metric_head, metric_rows,
                               f"Primary and secondary endpoints for {shown}, with 95% intervals (baton_lab).",
                               "tab:baton-endpoints", "lllll")
    paths = [out / "headline_counts.tex", out / "headline_metrics.tex", out / "headline.md"]
    paths[0].write_text(counts_tex, encoding="utf-8")
    paths[1].write_text(metrics_tex, encoding="utf-8")
    paths[2].write_text(f"## Headline counts\n\n{_markdown_table(count_head, count_rows)}\n"
                        f"## Endpoints ({markdown_text(shown)})\n\n{_markdown_table(metric_head, metric_rows)}",
                        encoding="utf-8")
    return paths
