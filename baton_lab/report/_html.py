"""The self-contained index.html: autoescaped jinja2, with the Vega JS and every chart spec inlined."""

from __future__ import annotations

import functools
import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from . import _format
from ._templates import VERDICT_LABEL, context, environment

if TYPE_CHECKING:
    from ._build import Report


@functools.cache
def vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script, matching the Vega-Lite version altair writes.

    Bundling takes seconds and depends only on the library versions, so it is kept in the user's cache folder
    (`bundle_cache_path`), one file per version pair; a cache that cannot be read or written is built around."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    vl_version = vl_version_for_vl_convert()
    cached = bundle_cache_path(vl_convert.__version__, vl_version)
    try:
        return cached.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        pass
    bundle = vl_convert.javascript_bundle(vl_version=vl_version)
    # an inline script ends at the first "</script", wherever it appears
    bundle = bundle.replace("</script", "<\\/script")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(cached)   # whole or not at all, also with two reports writing at once
    except OSError:
        pass
    return bundle


def bundle_cache_path(vl_convert_version: str, vl_version: str) -> Path:
    """Where the Vega bundle of these versions is cached: $BATON_LAB_CACHE_DIR, else the platform's user cache
    folder (XDG_CACHE_HOME or ~/.cache/baton-lab on Linux)."""
    import platformdirs

    root = os.environ.get("BATON_LAB_CACHE_DIR") or platformdirs.user_cache_dir("baton-lab", appauthor=False)
    safe = re.sub(r"[^0-9A-Za-z._-]", "_", f"vl-convert-{vl_convert_version}-vega-lite-{vl_version}")
    return Path(root) / "vega-bundle" / f"{safe}.js"


def _finite(value: Any) -> Any:
    # JSON has no Infinity/NaN; an open-ended interval bound is drawn as missing
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' survive unescaped (baton text reaches the chart specs)."""
    text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render(report: "Report", specs: dict[str, dict] | None = None) -> str:
    """The page; `specs` (figure key → Vega-Lite dict) saves re-serialising charts already exported."""
    specs = specs or {f.key: f.chart.to_dict() for f in report.figures}
    specs = {key: Markup(script_json(spec)) for key, spec in specs.items()}
    return environment("html").get_template("report.html.j2").render(
        context(report), specs=specs, vega_bundle=Markup(vega_bundle()))


def render_summary(report: "Report") -> str:
    """A compact notebook view: the three answers and the headline counts (figures via report.figures)."""
    answers = "".join(f"<li><b>{escape(q.title)}</b> <em>{VERDICT_LABEL[q.verdict]}</em> — {escape(q.answer)}</li>"
                      for q in report.questions)
    counts = report.result.counts
    keys = list(next(iter(counts.values()), {}))
    head = "".join(f"<th>{k.replace('_', ' ')}</th>" for k in keys)
    body = "".join(f"<tr><th>{escape(ns)}</th>" + "".join(f"<td>{_format.number(c[k])}</td>" for k in keys) + "</tr>"
                   for ns, c in counts.items())
    return (f"<div><strong>{escape(report.title)}</strong> ({len(report.figures)} figures; write it with "
            f"<code>report.write(out)</code>)<ol>{answers}</ol>"
            f"<table><thead><tr><th>namespace</th>{head}</tr></thead><tbody>{body}</tbody></table></div>")
