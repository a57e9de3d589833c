"""Charts drawn by matplotlib and inlined as SVG that is checked and rewritten before use.

Why the rewrite: the page's Content-Security-Policy allows no inline ``style`` attributes and
every chart lands in one document. So each SVG is parsed, anything that could run or fetch is
refused (scripts, event attributes, external links), matplotlib's ``style="…"`` declarations
become presentation attributes, its ``<style>``/``<metadata>`` go, and every ``id`` gets a
per-chart prefix so charts cannot clash. System names come from users: matplotlib escapes them,
and the re-serialisation escapes again, so a name can only ever be text.
"""

from __future__ import annotations

import io
import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine

from .view import TestSetView

__all__ = ["UnsafeSVGError", "distribution_chart", "length_chart", "safe_svg", "score_chart"]

_SVG = "http://www.w3.org/2000/svg"
_XLINK = "http://www.w3.org/1999/xlink"
_ALLOWED_TAGS = {
    "svg",
    "g",
    "defs",
    "path",
    "use",
    "clipPath",
    "text",
    "tspan",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "title",
    "desc",
    "symbol",
    "marker",
    "linearGradient",
    "radialGradient",
    "stop",
    "mask",
    "pattern",
}
_DROPPED_TAGS = {"style", "metadata"}
_PRESENTATION = {
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-opacity",
    "opacity",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "clip-rule",
    "stop-color",
    "stop-opacity",
}
_RC = {
    "svg.fonttype": "none",  # text stays text: small, selectable, drawn with the page's fonts
    "svg.hashsalt": "evalkit",  # deterministic ids, so the same results give the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}
PALETTE = (
    "#3266a8",
    "#e07b39",
    "#3a9a5b",
    "#c8453c",
    "#8a64b5",
    "#8c6b4f",
    "#d46fb0",
    "#6f7782",
    "#a9a935",
    "#2fa9b8",
    "#9ecae1",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#4a2f1c",
    "#f7b6d2",
    "#17375e",
    "#f2d33b",
    "#0b6e4f",
)
"""20 colours, so systems stay apart in the 12-13-system WMT test sets (report.css's
``.swatch.c0``…``c19`` repeat them for the leaderboard)."""
BASELINE_COLOR = "#222b36"


class UnsafeSVGError(ValueError):
    """matplotlib produced something that must not be inlined (a bug, never user data)."""


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _render(fig: Figure) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        # Glyphs missing from matplotlib's font (CJK names) only affect layout estimates:
        # with svg.fonttype "none" the browser draws the text with its own fonts.
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def safe_svg(svg: str, prefix: str) -> Markup:
    """Check and rewrite one matplotlib SVG for inlining (see the module docstring)."""
    root = ET.fromstring(svg)  # expat: no external entity or DTD is ever fetched
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    if root.tag != f"{{{_SVG}}}svg":
        raise UnsafeSVGError("not an SVG document")
    _clean(root, ids, prefix)
    root.tag = "svg"
    root.set("stroke-linejoin", "round")  # matplotlib's own <style> default, inherited
    root.set("stroke-linecap", "butt")
    root.set("class", "chart-svg")
    root.set("role", "img")
    # Tags lost their namespace in _clean: the HTML parser puts <svg> content in the SVG
    # namespace by itself, and ElementTree then needs no prefixes.
    text = ET.tostring(root, encoding="unicode")
    return Markup(text)  # parsed, allow-listed and re-escaped above


def _clean(el: ET.Element, ids: set[str | None], prefix: str) -> None:
    for child in list(el):
        tag = _local(child.tag)
        if tag in _DROPPED_TAGS:
            el.remove(child)
            continue
        if tag not in _ALLOWED_TAGS or not child.tag.startswith("{" + _SVG):
            raise UnsafeSVGError(f"unexpected SVG element <{tag}>")
        _clean(child, ids, prefix)
        child.tag = tag
    for name, value in list(el.attrib.items()):
        local = _local(name)
        if local.lower().startswith("on"):
            raise UnsafeSVGError(f"event attribute {local!r} in SVG")
        if local == "href":
            del el.attrib[name]
            if not value.startswith("#") or value[1:] not in ids:
                raise UnsafeSVGError(f"SVG link outside the chart: {value!r}")
            el.set("href", f"#{prefix}-{value[1:]}")
        elif local == "id":
            el.set("id", f"{prefix}-{value}")
        elif local == "style":
            del el.attrib[name]
            for decl in value.split(";"):
                prop, _, val = (part.strip() for part in decl.partition(":"))
                if prop in _PRESENTATION and _plain(val):
                    el.set(prop, val)
        elif "url(" in value:
            el.set(name, _local_url(value, ids, prefix))
        elif "javascript:" in value.lower() or "data:" in value.lower():
            raise UnsafeSVGError(f"SVG attribute {local!r} holds a URL")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _plain(value: str) -> bool:
    return "url(" not in value and "(" not in value and "\\" not in value


def _local_url(value: str, ids: set[str | None], prefix: str) -> str:
    if not (value.startswith("url(#") and value.endswith(")")) or value[5:-1] not in ids:
        raise UnsafeSVGError(f"SVG reference outside the chart: {value!r}")
    return f"url(#{prefix}-{value[5:-1]})"


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols


def _axes(fig: Figure, n: int, sharey: bool) -> list:
    rows, cols = _grid(n)
    axes = fig.subplots(rows, cols, sharey=sharey, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def score_chart(ts: TestSetView) -> Markup:
    """Each metric per system as bars, with the confidence interval as error bars when known."""
    names = list(ts.systems)
    n = len(names)
    rows, cols = _grid(len(ts.metrics))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(2.6 * cols + 1.2, rows * (0.26 * n + 0.9)), layout="tight")
        for ax, (k, head) in zip(
            _axes(fig, len(ts.metrics), True), enumerate(ts.metrics), strict=True
        ):
            cells = [row.scores[k] for row in ts.leaderboard]
            values = [c.value if c.value is not None else math.nan for c in cells]
            colors = [BASELINE_COLOR if r.baseline else _color(r.index) for r in ts.leaderboard]
            ys = list(range(n))
            ax.barh(ys, values, color=colors, height=0.62)
            if any(c.ci is not None for c in cells):
                lo = [c.value - c.ci[0] if c.ci and c.value is not None else 0 for c in cells]
                hi = [c.ci[1] - c.value if c.ci and c.value is not None else 0 for c in cells]
                ax.errorbar(
                    values, ys, xerr=[lo, hi], fmt="none", ecolor="#111", elinewidth=1, capsize=2.5
                )
            arrow = "↑" if head.higher_is_better else "↓"
            ax.set_title(f"{head.label} {arrow}", loc="left", parse_math=False)
            ax.grid(axis="x", color="#dde2e8", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_yticks(ys, names, parse_math=False)
            ax.tick_params(axis="y", length=0)
        fig.axes[0].invert_yaxis()  # first system on top; the axes share y
        return safe_svg(_render(fig), f"c{ts.index}s")


def length_chart(ts: TestSetView) -> Markup:
    """Mean segment score per length bucket, one line per system."""
    b = ts.buckets
    assert b is not None, "a streamed test set has no segment lengths to chart"
    xs = list(range(len(b.labels)))
    ticks = [f"{label}\nn={c}" for label, c in zip(b.labels, b.counts, strict=True)]
    rows, cols = _grid(len(ts.metrics))
    with matplotlib.rc_context(_RC):
        legend_rows = math.ceil(len(ts.systems) / 6)
        height = rows * 2.4 + 0.25 * legend_rows + 0.2
        # tight layout is twice as fast as constrained; keep the bottom strip for the legend
        reserve = (0.25 * legend_rows + 0.2) / height
        fig = Figure(
            figsize=(3.1 * cols, height), layout=TightLayoutEngine(rect=(0, reserve, 1, 1))
        )
        handles = []
        for ax, head in zip(_axes(fig, len(ts.metrics), False), ts.metrics, strict=True):
            for i, name in enumerate(ts.systems):
                ys = [math.nan if v is None else v for v in b.means[head.key][name]]
                base = name == ts.baseline
                (line,) = ax.plot(
                    xs,
                    ys,
                    marker="o",
                    markersize=3,
                    linewidth=2.2 if base else 1.3,
                    color=BASELINE_COLOR if base else _color(i),
                )
                if len(handles) < len(ts.systems):
                    handles.append(line)
            ax.set_title(
                head.label + (" ↑" if head.higher_is_better else " ↓"), loc="left", parse_math=False
            )
            ax.set_xticks(xs, ticks, parse_math=False, fontsize=7.5)
            ax.set_xlabel(f"reference length ({b.unit})")
            ax.grid(axis="y", color="#dde2e8", linewidth=0.6)
        legend = fig.legend(
            handles,
            list(ts.systems),
            loc="lower center",
            ncols=min(len(ts.systems), 6),
            frameon=False,
        )
        for t in legend.get_texts():
            t.set_parse_math(False)
        return safe_svg(_render(fig), f"c{ts.index}l")


def distribution_chart(ts: TestSetView) -> Markup:
    """Per-segment scores per system as box plots (whiskers 1.5 IQR, mean as a dot)."""
    assert ts.distribution is not None, "a streamed test set has no segment scores to chart"
    names = list(ts.systems)
    n = len(names)
    rows, cols = _grid(len(ts.metrics))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(2.6 * cols + 1.2, rows * (0.3 * n + 0.9)), layout="tight")
        for ax, head in zip(_axes(fig, len(ts.metrics), True), ts.metrics, strict=True):
            data = [_finite(ts.distribution[head.key][name]) for name in names]
            ys = list(range(1, n + 1))
            box = ax.boxplot(
                data,
                positions=ys,
                widths=0.6,
                showfliers=False,
                showmeans=True,
                patch_artist=True,
                **_horizontal(),
                meanprops={
                    "marker": "o",
                    "markersize": 3,
                    "markerfacecolor": "#111",
                    "markeredgecolor": "#111",
                },
                medianprops={"color": "#111"},
            )
            for i, patch in enumerate(box["boxes"]):
                base = names[i] == ts.baseline
                patch.set_facecolor(BASELINE_COLOR if base else _color(i))
                patch.set_alpha(0.55)
            ax.set_title(
                head.label + (" ↑" if head.higher_is_better else " ↓"), loc="left", parse_math=False
            )
            ax.set_yticks(ys, names, parse_math=False)
            ax.grid(axis="x", color="#dde2e8", linewidth=0.6)
            ax.tick_params(axis="y", length=0)
        fig.axes[0].invert_yaxis()
        return safe_svg(_render(fig), f"c{ts.index}d")


def _finite(xs: Sequence[float]) -> list[float]:
    return [x for x in xs if math.isfinite(x)] or [math.nan]


def _horizontal() -> dict[str, object]:
    """``orientation`` replaced ``vert`` in matplotlib 3.10; ask for whichever exists."""
    major, minor = (int(p) for p in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}
