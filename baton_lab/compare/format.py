"""Effects as a reader sees them, built on the report's shared number and interval formatter."""

from __future__ import annotations

from typing import Any, Mapping

from ..report._format import estimate as row_estimate, interval, number, sample


def arm_text(row: Mapping[str, Any], prefix: str) -> str:
    """One arm's estimate with its interval and n, e.g. '0.12 [0.08, 0.18] (14/117)'."""
    fields = {k: row.get(f"{prefix}_{k}") for k in ("estimate", "ci_low", "ci_high", "numerator", "denominator",
                                                   "exposure", "status")}
    text = row_estimate(fields | {"note": None})
    n = sample(fields)
    return f"{text} ({n})" if n and fields["status"] not in ("not_supported", "no_data") else text


def effect_text(row: Mapping[str, Any]) -> str:
    """'difference −0.12 [−0.20, −0.03]', 'insufficient (why)', or the reason there is no effect."""
    status = row.get("status")
    if status in ("not_supported", "not_compared", "no_data"):
        return row.get("reading") or status
    estimate = f"{row.get('measure')} {number(row.get('effect'))} {interval(row.get('ci_low'), row.get('ci_high'))}"
    if status == "insufficient":
        return f"insufficient: {row.get('note') or 'below the minimum sample'} (point {estimate.strip()})"
    return estimate.strip()


def adjusted_text(row: Mapping[str, Any]) -> str:
    if row.get("adj_ci_low") is None and row.get("adj_ci_high") is None:
        return ""
    return interval(row.get("adj_ci_low"), row.get("adj_ci_high"))


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def section_table(comparison) -> "pl.DataFrame":  # noqa: ANN001 - a Comparison
    """The compared rows as a reader's table (report section, notebooks): one string column per heading."""
    import polars as pl

    rows = comparison.compared.sort(pl.col("p_adjusted").fill_null(2.0), maintain_order=True)
    return pl.DataFrame({
        "metric": [f"{r['code']} {r['metric_id']}: {r['variant']}" for r in rows.iter_rows(named=True)],
        "A": [arm_text(r, "a") for r in rows.iter_rows(named=True)],
        "B": [arm_text(r, "b") for r in rows.iter_rows(named=True)],
        "effect B vs A [95% CI]": [effect_text(r) for r in rows.iter_rows(named=True)],
        f"adjusted CI ({100 * comparison.fcr_confidence:.1f}%)": [adjusted_text(r) for r in rows.iter_rows(named=True)],
        "p": [p_text(r["p_value"]) for r in rows.iter_rows(named=True)],
        "BH p": [p_text(r["p_adjusted"]) for r in rows.iter_rows(named=True)],
        "reading": rows["reading"].to_list(),
    }, schema={c: pl.String for c in ("metric", "A", "B", "effect B vs A [95% CI]",
                                      f"adjusted CI ({100 * comparison.fcr_confidence:.1f}%)", "p", "BH p", "reading")})

