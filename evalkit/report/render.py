"""Results → one self-contained, offline HTML page (Jinja2 with autoescape, CSS/JS/SVG inlined).

Why this shape: the page must open from ``file://`` on a machine with no network, so nothing is
linked, everything is inlined; and it shows untrusted model output, so every text goes through
autoescaping, data for the script travels as ``tojson`` (which escapes ``<``, ``>``, ``&``),
and a Content-Security-Policy pins the one inline script and the one stylesheet by hash.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import jinja2
from markupsafe import Markup

from .._io import write_output
from ..ordering import DEFAULT_SORT, sort_results
from ..results import Results
from .view import ReportView, build_view

__all__ = ["build_csp", "render_report", "write_report"]


@dataclass(frozen=True)
class _Charts:
    """A test set's charts; the per-segment ones are None for a streamed test set."""

    scores: Markup
    lengths: Markup | None
    distribution: Markup | None


def render_report(
    results: Results,
    *,
    title: str | None = None,
    created: datetime | None = None,
    sort: str = DEFAULT_SORT,
) -> str:
    """The whole report as one HTML string (UTF-8 text; no external resource of any kind);
    systems in ``sort`` order (see :func:`evalkit.ordering.sort_results`)."""
    results = sort_results(results, sort)
    from .charts import distribution_chart, length_chart, score_chart  # matplotlib is slow to load

    view = build_view(results, title=title, created=created or datetime.now(timezone.utc))
    charts = [
        _Charts(
            score_chart(ts),
            None if ts.buckets is None else length_chart(ts),
            None if ts.distribution is None else distribution_chart(ts),
        )
        for ts in view.testsets
    ]
    css, js = _static("report.css"), _static("report.js")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            view=view,
            charts=charts,
            css=Markup(css),  # our own files, shipped as package data
            js=Markup(js),
            csp=build_csp(css, js),
            generator=_generator(view),
        )
    )


def write_report(results: Results, path: str | os.PathLike[str], **kw: Any) -> None:
    """Render, then write by evalkit's output policy (evalkit._io.write_output): a regular file
    is replaced atomically, so on any error the destination is left as it was."""
    write_output(path, render_report(results, **kw))


def build_csp(css: str, js: str) -> str:
    """Nothing may load; only the page's own stylesheet and script (pinned by hash) may apply."""
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src {_hash(css)}",
            f"script-src {_hash(js)}",
            "img-src data:",
            "font-src 'none'",
            "connect-src 'none'",
            "media-src 'none'",
            "object-src 'none'",
            "frame-src 'none'",
            "worker-src 'none'",
            "manifest-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _generator(view: ReportView) -> str:
    return "evalkit " + dict(view.versions).get("evalkit", "")


@cache
def _static(name: str) -> str:
    text = files(__package__).joinpath("static", name).read_text(encoding="utf-8")
    if "</" in text:  # would end the inline <style>/<script> early
        raise ValueError(f"static/{name} must not contain '</'")
    return text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Compact UTF-8 JSON: Chinese at 3 bytes a character instead of 6 for \uXXXX; tojson still
    # escapes < > & ' so a text containing </script> cannot end the data block.
    env.policies["json.dumps_kwargs"] = {
        "ensure_ascii": False,
        "separators": (",", ":"),
        "allow_nan": False,
    }
    return env
