"""The HTML report: complete, self-contained, and inert whatever the systems wrote.

Pages are parsed with html5lib (the HTML5 algorithm browsers use) into lxml trees, so "no injected
element" is checked on the same tree a browser would build, not with string searches.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import html5lib
import pytest

import evalkit
from evalkit.errors import EvalkitError
from evalkit.evaluation import StatsOptions
from evalkit.report import render as report_render
from evalkit.report import render_report, write_report
from evalkit.report.align import diff_code
from evalkit.report.charts import UnsafeSVGError, safe_svg
from evalkit.report.render import build_csp
from evalkit.report.view import build_view, delta_cell
from evalkit.results import Comparison, Results, TestSetResult
from evalkit.streaming import score_files
from evalkit.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
HOSTILE = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "javascript:alert(1)",
    "<!-- <script>alert(1)</script>",
    '" onmouseover="alert(1)" x="',
    "$x^2$ & <b>bold</b> \u2028 line",
]
HOSTILE_SYSTEM = "<img src=x onerror=alert(1)>{{ 7*7 }}"
HOSTILE_WARNING = (
    "</summary></details><script>alert('warn')</script><img src=x onerror=alert(4)> &amp;"
)
EXPECTED_SCRIPTS = 1  # the report's own script; data blocks are type="application/json"


def _parse(html: str):
    return html5lib.parse(html, treebuilder="lxml", namespaceHTMLElements=False)


def _svgs(doc) -> list:
    return doc.xpath("//figure/*[local-name()='svg']")


def _svg_texts(doc) -> list[str]:
    return [t.text for svg in _svgs(doc) for t in svg.xpath(".//*[local-name()='text']")]


def _data_blocks(doc) -> list[dict]:
    return [json.loads(s.text) for s in doc.iter("script") if s.get("type") == "application/json"]


def _text(doc) -> str:
    """Text a reader sees: everything but script and style contents."""
    root = doc.getroot()
    skip = {id(el) for el in root.iter("script", "style")}
    return "".join(
        t
        for el in root.iter()
        if id(el) not in skip and isinstance(el.tag, str)
        for t in (el.text, *(c.tail for c in el))
        if t
    )


@pytest.fixture(scope="module")
def fixture_results() -> Results:
    """The bundled suite with every metric (TER on Chinese included)."""
    suite = load_suite(ROOT / "fixtures" / "suite.toml")
    return evalkit.evaluate(
        [t.load() for t in suite.testsets],
        ["bleu", "chrf", "chrf++", "ter"],
        meta={"suite": suite.name},
        stats=StatsOptions(0, "none"),  # scores only; _with_statistics adds them
    )


@pytest.fixture(scope="module")
def fixture_html(fixture_results: Results) -> str:
    return render_report(fixture_results, created=CREATED)


@pytest.fixture(scope="module")
def fixture_doc(fixture_html: str):
    return _parse(fixture_html)


@pytest.fixture(scope="module")
def small_results(fixture_results: Results) -> Results:
    """The en-zh test set alone: every feature, a third of the rendering time."""
    return dataclasses.replace(fixture_results, testsets=(fixture_results.testset("en-zh"),))


def _with_statistics(res: Results) -> Results:
    """Fill in what bootstrap and paired tests would add, so their display can be checked."""
    sets = []
    for ts in res.testsets:
        systems = []
        for k, sr in enumerate(ts.systems):
            scores = {
                m: dataclasses.replace(s, ci=(s.score - 1.5, s.score + 2.0), ci_mean=s.score)
                for m, s in sr.scores.items()
            }
            vs = {
                m: dataclasses.replace(c, p_value=[0.001, 0.2, 0.04][k % 3], test="paired-bs")
                for m, c in sr.vs_baseline.items()
            }
            systems.append(dataclasses.replace(sr, scores=scores, vs_baseline=vs))
        names = [s.name for s in systems]
        pairwise = {
            m: {
                a.name: {
                    b.name: Comparison(a.scores[m].score - b.scores[m].score, 0.01, "paired-bs")
                    for b in systems
                    if b.name != a.name
                }
                for a in systems
            }
            for m in ts.metrics
        }
        assert len(names) == len(set(names))
        sets.append(
            dataclasses.replace(
                ts, systems=tuple(systems), pairwise=pairwise, stats={"confidence": 0.95}
            )
        )
    return dataclasses.replace(res, testsets=tuple(sets))


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    d = tmp_path_factory.mktemp("hostile")
    ref = ["今天天气很好。", "我们明天见。", "這是一個測試。", *["参考译文。"] * len(HOSTILE)]
    src = ["The weather is nice today.", "See you tomorrow.", "This is a test.", *HOSTILE]
    good = ["今天天气很好。", "我们后天见。", "这是一个测试。", *HOSTILE]
    bad = [*HOSTILE, "", "没有。", "不是。"]
    for name, lines in {"ref": ref, "src": src, "good": good, "bad": bad}.items():
        (d / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ts = evalkit.load_testset(
        d / "ref.txt",
        {"good": d / "good.txt", HOSTILE_SYSTEM: d / "bad.txt"},
        sources=d / "src.txt",
        lang="zh",
        name="</title><script>alert('set')</script>",
        baseline="good",
    )
    res = _with_statistics(evalkit.evaluate(ts, metrics=["bleu", "chrf"]))
    (t,) = res.testsets
    hostile = dataclasses.replace(
        t.system(HOSTILE_SYSTEM),
        warnings=(HOSTILE_WARNING, "2 empty output segments"),
        translation={"segments": "<b>x</b>", "wall_time_s": math.inf, "translated_now": "yes"},
    )
    systems = tuple(hostile if s.name == HOSTILE_SYSTEM else s for s in t.systems)
    return dataclasses.replace(res, testsets=(dataclasses.replace(t, systems=systems),))


@pytest.fixture(scope="module")
def hostile_html(hostile_results: Results) -> str:
    return render_report(hostile_results, title="{{ 7*7 }} <i>x</i>", created=CREATED)


@pytest.fixture(scope="module")
def hostile_doc(hostile_html: str):
    return _parse(hostile_html)


# ---------- completeness ----------


def _leaderboard_order(ts: TestSetResult) -> list[str]:
    """The page's default order: the baseline, then best first by the first metric."""
    m = ts.metrics[0]
    sign = 1 if m == "ter" else -1
    others = [s for s in ts.systems if s.name != ts.baseline]
    return [ts.baseline, *(s.name for s in sorted(others, key=lambda s: sign * s.scores[m].score))]


def test_every_testset_system_and_segment_is_in_the_page(
    fixture_results: Results, fixture_doc
) -> None:
    doc = fixture_doc
    blocks = _data_blocks(doc)
    assert len(blocks) == len(fixture_results.testsets)
    for ts, block in zip(fixture_results.testsets, blocks, strict=True):
        section = doc.find(f".//section[@id='ts-{fixture_results.testsets.index(ts)}']")
        assert section.findtext("h2") == ts.name
        board = [
            th.xpath("string(.//span[@class='sys'])")
            for th in section.xpath(".//table[contains(@class,'board')]/tbody/tr/th")
        ]
        order = _leaderboard_order(ts)
        assert board == order
        sd = ts.segment_data
        assert block["n"] == ts.segments
        assert block["systems"] == order
        assert block["src"] == list(sd.sources)
        assert block["refs"] == [list(r) for r in sd.refs]
        assert block["hyps"] == [list(sd.hyps[name]) for name in order]
        for i, s in enumerate(map(ts.system, order)):
            for k, m in enumerate(ts.metrics):
                want = [round(x, 2) for x in sd.scores[s.name][m]]
                assert block["scores"][i][k] == want
            assert len(block["diff"][i]) == ts.segments


def test_header_shows_suite_versions_signatures_and_normalization(
    fixture_results: Results, fixture_doc
) -> None:
    header = fixture_doc.find(".//header")
    text = "".join(header.itertext())
    assert "seed-article" in text
    assert CREATED.isoformat() in text
    for name, version in fixture_results.meta["versions"].items():
        assert name in text and version in text
    for ts in fixture_results.testsets:
        assert ts.name in text
        assert ts.normalization["signature"] in text
        for sr in ts.systems:
            for score in sr.scores.values():
                assert score.signature in text


def test_leaderboard_numbers_match_results(fixture_results: Results, fixture_doc) -> None:
    doc = fixture_doc
    ts = fixture_results.testset("en-zh")
    section = doc.find(f".//section[@id='ts-{fixture_results.testsets.index(ts)}']")
    rows = _board_rows(section)
    assert sorted(rows) == sorted(s.name for s in ts.systems)
    for sr in ts.systems:
        cells = rows[sr.name].findall("td")
        for k, m in enumerate(ts.metrics):
            score_cell = cells[2 * k]
            assert score_cell.xpath("string(span[@class='num'])") == f"{sr.scores[m].score:.2f}"
            assert float(score_cell.get("data-sort")) == sr.scores[m].score


def test_normalization_section_shows_raw_and_normalized_and_examples(
    fixture_results: Results, fixture_doc
) -> None:
    doc = fixture_doc
    ts = fixture_results.testset("en-zh")
    section = doc.find(f".//section[@id='ts-{fixture_results.testsets.index(ts)}']")
    norm = section.xpath(".//table[contains(@class,'norm')]")[0]
    text = "".join(norm.itertext())
    trad = ts.system("traditional")
    assert f"{trad.raw_scores['bleu'].score:.2f}" in text
    assert f"{trad.scores['bleu'].score:.2f}" in text
    assert "traditional" in text and "simplified" in text
    examples = section.xpath(".//table[contains(@class,'examples')]/tbody/tr")
    assert examples, "the Traditional systems were normalized, so examples are shown"
    first = examples[0]
    raw, normalized = ("".join(td.itertext()) for td in first.findall("td")[1:3])
    assert raw == ts.segment_data.hyps[first.findtext("th")][int(first.findtext("td")) - 1]
    assert raw != normalized and first.xpath(".//mark[@class='chg']")


def test_identity_normalization_says_so(fixture_doc) -> None:
    section = fixture_doc.find(".//section[@id='ts-0']")
    assert "No normalization was applied" in "".join(section.itertext())
    assert not section.xpath(".//table[contains(@class,'norm')]")


def test_charts_are_inline_svg_with_text_labels(fixture_results: Results, fixture_doc) -> None:
    doc = fixture_doc
    assert len(_svgs(doc)) == 3 * len(fixture_results.testsets)
    labels = set(_svg_texts(doc))
    assert {s.name for ts in fixture_results.testsets for s in ts.systems} <= labels
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "chart ids are prefixed, so none clashes"


def test_bucket_and_distribution_sections(fixture_doc) -> None:
    text = _text(fixture_doc)
    assert "reference length in words" in text
    assert "reference length in characters" in text
    assert "Per-segment score distribution" in text


# ---------- CIs and significance ----------


def test_missing_cis_and_p_values_degrade_to_a_note(fixture_doc) -> None:
    doc = fixture_doc
    text = _text(doc)
    assert "No confidence intervals in these results" in text
    assert "No significance test in these results" in text
    assert not doc.xpath("//span[@class='ci']") and not doc.xpath("//span[@class='sig']")
    assert not doc.xpath("//table[contains(@class,'pairwise')]")
    assert not doc.xpath("//figure[1]/*[local-name()='svg']//*[contains(@id, 'LineCollection')]")


def test_cis_p_values_and_pairwise_are_shown_when_present(small_results: Results) -> None:
    res = _with_statistics(small_results)
    doc = _parse(render_report(res, created=CREATED))
    ts = res.testset("en-zh")
    section = doc.find(f".//section[@id='ts-{res.testsets.index(ts)}']")
    text = "".join(section.itertext())
    bleu = ts.system("weak").scores["bleu"]
    assert f"[{bleu.ci[0]:.2f}, {bleu.ci[1]:.2f}]" in text
    assert "95% CI" in text and "paired-bs" in text
    rows = _board_rows(section)
    # weak (k=1): p=0.2, not significant; literal (k=2): p=0.04 and worse than the baseline
    weak, literal = rows[ts.systems[1].name], rows[ts.systems[2].name]
    assert "same" in weak.findall("td")[1].get("class")
    assert "worse" in literal.findall("td")[1].get("class")
    assert literal.xpath("string(td[2]/span[@class='sig'])") == "*"
    assert "p = 0.040" in "".join(literal.findall("td")[1].itertext())
    # one matrix per metric, every system against every other
    matrices = section.xpath(".//table[contains(@class,'pairwise')]")
    assert len(matrices) == len(ts.metrics)
    n = len(ts.systems)
    assert len(matrices[0].xpath("tbody/tr")) == n
    assert len(matrices[0].xpath("tbody/tr/td[@class='diag']")) == n
    # error bars are drawn when CIs exist, and only then
    assert section.xpath(".//figure[1]/*[local-name()='svg']//*[contains(@id, 'LineCollection')]")


def test_ter_delta_direction_is_lower_is_better(fixture_results: Results) -> None:
    res = _with_statistics(fixture_results)
    view = build_view(res, title=None, created=CREATED)
    ts = next(t for t in view.testsets if t.name == "zh-en")
    ter = [m.key for m in ts.metrics].index("ter")
    verdicts = [row.deltas[ter].verdict for row in ts.leaderboard]
    assert "worse" in verdicts  # every zh-en system has a higher TER than the baseline
    for row in ts.leaderboard:
        cell = row.deltas[ter]
        if cell.verdict in ("better", "worse"):
            assert (cell.verdict == "better") == (float(cell.text) < 0)


@pytest.mark.parametrize(
    ("delta", "p", "higher", "verdict"),
    [
        (2.0, 0.01, True, "better"),  # why: a significant gain on a similarity metric
        (-2.0, 0.01, True, "worse"),
        (-2.0, 0.01, False, "better"),  # why: TER dropping is an improvement
        (2.0, 0.01, False, "worse"),
        (2.0, 0.30, True, "same"),  # why: tested but not significant: no colour
        (2.0, None, True, ""),  # why: no test was run: no marker, no claim
    ],
)
def test_delta_verdicts(delta: float, p: float | None, higher: bool, verdict: str) -> None:
    cell = delta_cell(Comparison(delta, p, "paired-bs"), higher, "x")
    assert cell.verdict == verdict
    assert cell.marker == ("*" if verdict in ("better", "worse") else "")


# ---------- safety ----------


def test_hostile_texts_stay_text(hostile_doc) -> None:
    doc = hostile_doc
    scripts = [s for s in doc.iter("script") if s.get("type") != "application/json"]
    assert len(scripts) == EXPECTED_SCRIPTS
    assert not doc.xpath(
        "//img | //iframe | //object | //embed | //i | //b[. = 'bold']"
        " | //a[@href][not(starts-with(@href, '#'))]"
    )
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert "javascript:" not in value.lower(), (el.tag, name, value)
    text = _text(doc)
    assert HOSTILE_SYSTEM in text  # shown literally, in the leaderboard and the selects
    assert "{{ 7*7 }} <i>x</i>" in doc.findtext(".//title")
    assert "</title><script>alert('set')</script>" in doc.findtext(".//h2")
    # {{ 7*7 }} is never evaluated: the only 49 would be its result
    assert not re.search(r"(?<![\d.])49(?![\d.])", text)


def test_hostile_texts_round_trip_through_the_json_block(
    hostile_results: Results, hostile_html: str, hostile_doc
) -> None:
    (block,) = _data_blocks(hostile_doc)
    sd = hostile_results.testsets[0].segment_data
    assert block["src"] == list(sd.sources)
    assert block["hyps"][1] == list(sd.hyps[HOSTILE_SYSTEM])
    assert block["systems"][1] == HOSTILE_SYSTEM
    raw = hostile_html[hostile_html.index('type="application/json"') :]
    raw = raw[: raw.index("</script>")]
    assert "<" not in raw.split(">", 1)[1], "'<' is escaped inside the data block"


def test_hostile_system_name_in_charts_is_escaped_text(hostile_doc) -> None:
    doc = hostile_doc
    assert HOSTILE_SYSTEM in _svg_texts(doc)
    for svg in _svgs(doc):
        assert not svg.xpath(".//*[local-name()='script' or local-name()='foreignObject']")


def test_csp_meta_pins_script_and_style_by_hash(fixture_doc) -> None:
    doc = fixture_doc
    head = doc.find("head")
    metas = head.findall("meta")
    assert metas[0].get("charset") == "utf-8"
    csp = next(m.get("content") for m in metas if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    script = next(s for s in doc.iter("script") if s.get("type") is None).text
    style = head.findtext("style")
    assert csp == build_csp(style, script)


def test_no_external_resource_anywhere(
    fixture_html: str, fixture_doc, hostile_html: str, hostile_doc
) -> None:
    for html, doc in ((fixture_html, fixture_doc), (hostile_html, hostile_doc)):
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            for name in ("src", "href", "action", "poster", "data", "srcset", "xlink:href"):
                value = el.get(name)
                assert value is None or value.startswith(("#", "data:")), (el.tag, name, value)
        assert not re.search(r"url\(\s*['\"]?(?!#)", html), "CSS url() only to in-page ids"
        assert not re.search(r"@import", html)
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)


def test_static_script_never_parses_html() -> None:
    js = (ROOT / "evalkit" / "report" / "static" / "report.js").read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("on',
    ):
        assert sink not in js


def test_safe_svg_refuses_active_content() -> None:
    base = '<svg xmlns="http://www.w3.org/2000/svg">{}</svg>'
    for bad in (
        "<script>alert(1)</script>",
        '<g onload="alert(1)"/>',
        "<foreignObject><p>x</p></foreignObject>",
        '<use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="http://e.x/a#b"/>',
        '<path clip-path="url(http://e.x/a)"/>',
    ):
        with pytest.raises(UnsafeSVGError):
            safe_svg(base.format(bad), "t")
    out = safe_svg(
        base.format('<path id="a" style="fill: #fff; font: 9px x; behavior: y"/><use href="#a"/>'),
        "t",
    )
    assert 'id="t-a"' in out and 'href="#t-a"' in out and 'fill="#fff"' in out
    assert "style" not in out and "behavior" not in out


# ---------- details ----------


@pytest.mark.parametrize(
    ("hyp", "ref", "lang", "want"),
    [
        # why: identical lines are one shared run
        ("天气很好", "天气很好", "zh", [0, 0, 4, 4]),
        # why: Chinese is compared character by character
        ("天气好", "天气很好", "zh", [0, 0, 2, 2, 0, 1, 1, 1]),
        # why: English word by word; whitespace inside a shared run belongs to it
        ("the big cat", "the cat", "en", [0, 0, 3, 3, 5, 1, 3, 3]),
        # why: an empty candidate is all "missing"
        ("", "abc def", "en", [0, 7, 0, 0]),
        # why: code points, not UTF-16 units, so astral characters count once
        ("😀好", "好", "zh", [1, 0, 1, 1]),
    ],
)
def test_diff_code(hyp: str, ref: str, lang: str, want: list[int]) -> None:
    assert diff_code(hyp, ref, lang) == want


def test_non_ascii_title(hostile_results: Results, tmp_path: Path) -> None:
    path = tmp_path / "报告.html"
    write_report(hostile_results, path, title="中文评测报告 · 繁體", created=CREATED)
    data = path.read_bytes()
    assert "中文评测报告 · 繁體".encode() in data  # UTF-8, not character references
    doc = _parse(data.decode("utf-8"))
    assert doc.findtext(".//title") == "中文评测报告 · 繁體"
    assert doc.findtext(".//h1") == "中文评测报告 · 繁體"


def test_write_report_is_atomic(
    small_results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out" / "report.html"

    def broken_view(*args: object, **kw: object) -> None:
        raise ValueError("view failed")

    monkeypatch.setattr(report_render, "build_view", broken_view)
    with pytest.raises(ValueError, match="view failed"):
        write_report(small_results, path)
    assert not path.exists()

    path.parent.mkdir(exist_ok=True)
    path.write_text("previous report", encoding="utf-8")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    # rendering is covered above; here only the write may fail
    monkeypatch.setattr(report_render, "render_report", lambda results, **kw: "<!DOCTYPE html>")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises((OSError, EvalkitError), match="disk full"):
        write_report(small_results, path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"], "no temporary file left"


def test_view_is_the_same_after_a_json_round_trip(fixture_results: Results) -> None:
    again = Results.from_json(fixture_results.to_json())
    assert build_view(again, title=None, created=CREATED) == build_view(
        fixture_results, title=None, created=CREATED
    )


def test_missing_scores_render_as_dashes(small_results: Results) -> None:
    ts = small_results.testsets[0]
    sd = ts.segment_data
    weak = ts.system("weak")
    nan_scores = {m: dataclasses.replace(s, score=math.nan) for m, s in weak.scores.items()}
    seg = {s: dict(v) for s, v in sd.scores.items()}
    seg["weak"] = {m: (math.nan,) * ts.segments for m in ts.metrics}
    broken = dataclasses.replace(
        ts,
        systems=tuple(
            dataclasses.replace(s, scores=nan_scores) if s is weak else s for s in ts.systems
        ),
        segment_data=dataclasses.replace(sd, scores=seg),
    )
    doc = _parse(render_report(dataclasses.replace(small_results, testsets=(broken,))))
    row = _board_rows(doc)["weak"]
    assert row.xpath("string(td[1]/span[@class='num'])") == "—"
    (block,) = _data_blocks(doc)
    assert block["scores"][block["systems"].index("weak")][0] == [None] * ts.segments


def test_one_system_one_segment(small_results: Results) -> None:
    ts = small_results.testsets[0]
    sd = ts.segment_data
    base = ts.baseline
    one = dataclasses.replace(
        ts,
        segments=1,
        systems=(ts.system(base),),
        segment_data=dataclasses.replace(
            sd,
            sources=sd.sources[:1],
            refs=tuple(r[:1] for r in sd.refs),
            hyps={base: sd.hyps[base][:1]},
            scores={base: {m: v[:1] for m, v in sd.scores[base].items()}},
            raw_scores={base: {m: v[:1] for m, v in sd.raw_scores[base].items()}},
            changed={base: sd.changed[base][:1]},
            ref_changed=sd.ref_changed[:1],
        ),
    )
    doc = _parse(render_report(dataclasses.replace(small_results, testsets=(one,))))
    (block,) = _data_blocks(doc)
    assert block["n"] == 1 and block["systems"] == [base]
    assert len(_svgs(doc)) == 3


# ---------- warnings ----------


def _board_rows(section) -> dict[str, object]:
    rows = section.xpath(".//table[contains(@class,'board')]/tbody/tr")
    return {row.xpath("string(th/span[@class='sys'])"): row for row in rows}


def test_warnings_are_in_the_leaderboard_and_listed_in_the_section(
    fixture_results: Results, fixture_doc
) -> None:
    ts = fixture_results.testset("en-zh")
    warned = {s.name: s.warnings for s in ts.systems if s.warnings}
    # why: the fixtures have both kinds, so this test is not vacuous
    assert any("wrong script" in w for ws in warned.values() for w in ws)
    assert any("empty output" in w for ws in warned.values() for w in ws)
    section = fixture_doc.find(f".//section[@id='ts-{fixture_results.testsets.index(ts)}']")
    for name, row in _board_rows(section).items():
        details = row.xpath("th/details[@class='warn']")
        if name not in warned:
            assert not details
            continue
        (d,) = details
        assert [li.text for li in d.xpath("ul/li")] == list(warned[name])
        summary = d.find("summary")
        assert summary.get("title") == "; ".join(warned[name])
        assert f"{len(warned[name])} warning" in "".join(summary.itertext())
    listed = ["".join(li.itertext()) for li in section.xpath(".//div[@class='warnings']/ul/li")]
    board = list(_board_rows(section))  # listed in the leaderboard's order
    assert listed == [f"{n}: {w}" for n in board for w in warned.get(n, ())]
    # a test set without warnings has no list
    clean = [t for t in fixture_results.testsets if not any(s.warnings for s in t.systems)]
    for t in clean:
        other = fixture_doc.find(f".//section[@id='ts-{fixture_results.testsets.index(t)}']")
        assert not other.xpath(".//div[@class='warnings'] | .//details[@class='warn']")


def test_hostile_warning_stays_text(hostile_doc) -> None:
    (row,) = [r for n, r in _board_rows(hostile_doc).items() if n == HOSTILE_SYSTEM]
    (d,) = row.xpath("th/details[@class='warn']")
    assert d.xpath("ul/li")[0].text == HOSTILE_WARNING
    assert d.find("summary").get("title").startswith(HOSTILE_WARNING)
    listed = hostile_doc.xpath("//div[@class='warnings']/ul/li")
    assert "".join(listed[0].itertext()) == f"{HOSTILE_SYSTEM}: {HOSTILE_WARNING}"
    assert not hostile_doc.xpath("//img | //details//script | //div[@class='warnings']//script")


# ---------- translators ----------


@pytest.fixture(scope="module")
def bleu_results() -> Results:
    """The first fixture test set, BLEU only: the quickest real Results to build on."""
    suite = load_suite(ROOT / "fixtures" / "suite.toml")
    return evalkit.evaluate([t.load() for t in suite.testsets][:1], ["bleu"])


SPEED_ENDPOINT = {
    "segments": 12,
    "translated": 9,
    "from_cache": 3,
    "wall_time_s": 12.3456,
    "segments_per_s": 0.729,
    "chars_per_s": 1234.4,
    "latency_p50_s": 0.8214,
    "latency_p95_s": 2.5,
    "prompt_tokens": 15230,
    "completion_tokens": 4100,
    "translated_now": True,
}
SPEED_COMMAND = {  # a command reports no tokens; nothing translated: no rates, no latencies
    "segments": 12,
    "translated": 0,
    "from_cache": 12,
    "wall_time_s": 0.01,
    "segments_per_s": None,
    "chars_per_s": None,
    "latency_p50_s": None,
    "latency_p95_s": None,
    "prompt_tokens": None,
    "completion_tokens": None,
    "translated_now": False,
}


def test_translators_table_shows_speed_figures(bleu_results: Results) -> None:
    (ts,) = bleu_results.testsets
    names = [s.name for s in ts.systems]
    speeds = {names[1]: SPEED_ENDPOINT, names[3]: SPEED_COMMAND}
    res = bleu_results.with_translation({(ts.name, n): v for n, v in speeds.items()})
    doc = _parse(render_report(res, created=CREATED))
    (table,) = doc.xpath("//table[contains(@class,'translators')]")
    heads = ["".join(th.itertext()) for th in table.xpath("thead/tr/th")]
    assert heads == [
        "System",
        "Measured in",
        "Segments",
        "Translated",
        "From cache",
        "Wall time (s)",
        "Segments/s",
        "Characters/s",
        "Latency p50 (s)",
        "Latency p95 (s)",
        "Tokens in",
        "Tokens out",
    ]
    rows = [
        [row.findtext("th"), *("".join(td.itertext()) for td in row.findall("td"))]
        for row in table.xpath("tbody/tr")
    ]
    expected = {
        names[1]: [names[1], "this run", "12", "9", "3", "12.35", "0.7", "1,234", "0.821"]
        + ["2.500", "15,230", "4,100"],
        names[3]: [names[3], "earlier run", "12", "0", "12", "0.01", *["—"] * 6],
    }
    board = list(_board_rows(doc))
    assert rows == sorted(expected.values(), key=lambda r: board.index(r[0]))  # board's order
    command_row = 1 + [r[0] for r in rows].index(names[3])
    sort_keys = [td.get("data-sort") for td in table.xpath(f"tbody/tr[{command_row}]/td")][1:]
    assert sort_keys[:4] == ["12.0", "0.0", "12.0", "0.01"] and set(sort_keys[4:]) == {""}


def test_no_translators_table_without_translators(fixture_doc, hostile_doc) -> None:
    assert not fixture_doc.xpath("//table[contains(@class,'translators')]")
    # a damaged figure (a string, infinity, a non-boolean flag) is shown as a dash, never as HTML
    (table,) = hostile_doc.xpath("//table[contains(@class,'translators')]")
    (row,) = table.xpath("tbody/tr")
    assert {td.text for td in row.findall("td")} == {"—"}
    assert not table.xpath(".//b")


# ---------- streamed test sets ----------


@pytest.fixture(scope="module")
def streamed_results() -> Results:
    """A real streamed result (segment_data=None), with CIs and every pair tested."""
    f = ROOT / "fixtures"
    return score_files(
        f / "article.zh",
        {n: f / "en-zh" / f"{n}.zh" for n in ("strong", "traditional", "truncated")},
        metrics=["bleu", "chrf"],
        name="streamed-en-zh",
        stats=StatsOptions(bootstrap=200, paired="bs", pairwise=True),
    )


@pytest.fixture(scope="module")
def streamed_html(streamed_results: Results) -> str:
    return render_report(streamed_results, created=CREATED)


def test_streamed_testset_renders_corpus_views_and_a_note(
    streamed_results: Results, streamed_html: str
) -> None:
    (ts,) = streamed_results.testsets
    assert ts.segment_data is None
    doc = _parse(streamed_html)
    (section,) = doc.xpath("//section[@class='testset']")
    text = _text(doc)
    assert "this test set was streamed" in text
    assert section.xpath(".//p[contains(@class,'streamed')]")
    assert "12 segments · 1 reference ·" in "".join(section.find("p").itertext())
    # leaderboard with CIs, the score chart with error bars, every pairwise matrix
    assert list(_board_rows(section)) == [s.name for s in ts.systems]
    bleu = ts.system("traditional").scores["bleu"]
    assert f"[{bleu.ci[0]:.2f}, {bleu.ci[1]:.2f}]" in text
    (svg,) = _svgs(doc)
    assert svg.xpath(".//*[contains(@id, 'LineCollection')]")
    assert len(section.xpath(".//table[contains(@class,'pairwise')]")) == len(ts.metrics)
    # normalization: counts only
    norm_rows = section.xpath(".//table[contains(@class,'norm')]/tbody/tr")
    assert [r.findtext("td") for r in norm_rows] == [
        f"{s.changed_segments} / {ts.segments}" for s in ts.systems
    ]
    assert f"it changed {ts.normalization['ref_changed_segments']} of 12 reference" in text
    assert "no segment text was kept" in text
    assert not section.xpath(".//table[contains(@class,'examples')]")
    # nothing per-segment: no explorer, no data block, no bucket tables
    assert not _data_blocks(doc)
    assert not doc.xpath("//*[@data-explorer] | //details[@class='buckets']")
    assert "2 empty output segments" in text  # warnings come through streaming too


def test_streamed_view_survives_json_and_formats_big_counts(streamed_results: Results) -> None:
    again = Results.from_json(streamed_results.to_json())
    view = build_view(again, title=None, created=CREATED)
    assert view == build_view(streamed_results, title=None, created=CREATED)
    (ts,) = again.testsets
    big = dataclasses.replace(
        ts,
        segments=12_000_000,
        normalization={**ts.normalization, "detected_from_segments": 100_000},
        stats={**ts.stats, "method": "poisson"},
    )
    big_view = build_view(dataclasses.replace(again, testsets=(big,)), title=None, created=CREATED)
    (tv,) = big_view.testsets
    assert tv.segments_text == "12,000,000" and tv.streamed and tv.n_refs == 1
    assert tv.normalization.detected_from == "100,000"
    assert any(item.startswith("Poisson(1) bootstrap") for item in tv.stats_items)
    assert tv.buckets is None and tv.distribution is None and tv.explorer is None
