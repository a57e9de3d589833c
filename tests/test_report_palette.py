"""The report tells systems apart: one colour each for up to 20 systems, the same in the charts
and in the leaderboard's swatches."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from lxml import html

import evalkit
from evalkit.report import render_report
from evalkit.report.charts import PALETTE


def test_the_palette_has_twenty_distinct_colours_and_the_css_swatches_match_it() -> None:
    assert len(set(PALETTE[:20])) == 20
    css = (files("evalkit.report") / "static" / "report.css").read_text(encoding="utf-8")
    swatches = dict(re.findall(r"\.swatch\.c(\d+) \{ background: (#[0-9a-f]{6}); \}", css))
    assert {int(k): v for k, v in swatches.items()} == dict(enumerate(PALETTE[:20]))


def test_thirteen_systems_get_thirteen_different_swatches(fixtures_dir: Path) -> None:
    # why: the 12-13-system WMT22 charts repeated colours past the tenth system
    hyp = fixtures_dir / "en-zh" / "weak.zh"
    ts = evalkit.load_testset(fixtures_dir / "article.zh", {f"s{i}": hyp for i in range(13)})
    results = evalkit.evaluate(ts, "bleu", "none", stats=evalkit.StatsOptions(0, "none"))
    page = html.fromstring(render_report(results))
    rows = page.xpath("//table[contains(@class,'board')]/tbody/tr/th/span[1]")
    classes = [r.get("class") for r in rows]
    assert all(c.startswith("swatch") for c in classes)
    assert len(set(classes)) == 13
