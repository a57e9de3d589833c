"""Every number evalkit shows is the number it computed.

One run of the real command line writes each output format; each is read back (the terminal
table and Markdown as text, CSV with pandas, the HTML report with lxml) and every score, CI,
delta sign, significance star, p-value, pairwise cell and changed-segment count is compared with
the results document of the same run — at the precision that output prints. The expectations
are formatted here, independently of evalkit's renderers, so a renderer that prints the wrong
number (or the right number in the wrong cell, as the reversed pairwise matrix did) fails.

The results document itself is checked against ``evaluate()`` in this process, and its
pairwise matrix against its own definition (``pairwise[m][row][col]`` = row − col).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from lxml import html

from evalkit.results import Comparison, Results, TestSetResult

LABELS = {"bleu": "BLEU", "chrf": "chrF2", "chrf++": "chrF2++", "ter": "TER"}
ALPHA = 0.05
WMT22 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wmt22"


# --- how a number must look at each output's precision (written here, not imported) ----------


def two(x: float) -> str:
    """Two decimals; a value that rounds to zero is 0.00 (never -0.00)."""
    text = f"{x:.2f}"
    return "0.00" if float(text) == 0 else text


def signed(x: float) -> str:
    text = two(x)
    return "+" + text if float(text) > 0 else text


def significant(c: Comparison) -> bool:
    return not c.identical and c.p_value is not None and c.p_value < ALPHA


def delta_cell(c: Comparison) -> str:
    """A delta as the terminal and Markdown print it."""
    if c.identical:
        return "identical"
    return signed(c.delta) + ("*" if significant(c) else "")


def half_width(ts: TestSetResult, system: str, metric: str) -> str | None:
    ci = ts.system(system).scores[metric].ci
    return None if ci is None else two((ci[1] - ci[0]) / 2)


def score_cell(ts: TestSetResult, system: str, metric: str) -> str:
    text = two(ts.system(system).scores[metric].score)
    half = half_width(ts, system, metric)
    return text if half is None else f"{text} ±{half}"


def impact_cell(raw: float, normalized: float) -> str:
    return f"{two(raw)} → {two(normalized)}" if two(raw) != two(normalized) else two(normalized)


def leaderboard_order(ts: TestSetResult) -> list[str]:
    """The default ``--sort score``: the baseline, then best first by the first metric (TER:
    lowest first); ties keep the input order."""
    m = ts.metrics[0]
    lower_first = m == "ter"
    others = [s for s in ts.systems if s.name != ts.baseline]
    ranked = sorted(others, key=lambda s: s.scores[m].score if lower_first else -s.scores[m].score)
    return [ts.baseline] + [s.name for s in ranked]


# --- producing the outputs with the real command line -------------------------------------------


@dataclass
class Outputs:
    results: Results
    table: str
    markdown: str | None
    csv: str
    report: Path


def _run_ok(run_evalkit: Callable, *args: str | Path, cwd: Path) -> str:
    done = run_evalkit(*args, cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def score_outputs(run_evalkit: Callable, cwd: Path, args: list[str]) -> Outputs:
    """``evalkit score`` once per format (the results cache makes the re-runs cheap)."""
    common = [*args, "--cache", "cache"]
    _run_ok(run_evalkit, "score", *common, "--format", "json", "-o", "r.json", cwd=cwd)
    table = _run_ok(run_evalkit, "score", *common, "--format", "table", cwd=cwd)
    markdown = _run_ok(run_evalkit, "score", *common, "--format", "markdown", cwd=cwd)
    csv = _run_ok(run_evalkit, "score", *common, "--format", "csv", cwd=cwd)
    _run_ok(run_evalkit, "score", *common, "--format", "json", "--report", "r.html", cwd=cwd)
    results = Results.from_json((cwd / "r.json").read_text(encoding="utf-8"))
    return Outputs(results, table, markdown, csv, cwd / "r.html")


# --- reading the outputs back -------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def rich_block(text: str, title: str) -> list[list[str]]:
    """The body rows of the terminal table whose title line starts with ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
    sep = next(i for i in range(start, len(lines)) if "───" in lines[i])
    rows = []
    for line in lines[sep + 1 :]:
        if not line.strip() or not line.startswith(" "):  # a blank line or the notes below
            break
        rows.append(_cells(line))
    return rows


def markdown_table(text: str, header_first_cell: str, after: str = "") -> list[list[str]]:
    """Rows of the first Markdown table after ``after`` whose header starts with the cell."""
    lines = text[text.index(after) :].splitlines() if after else text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {header_first_cell} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
        rows.append([c.strip().replace("\\*", "*") for c in cells])
    return rows


def _xpath_class(cls: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {cls} ")'


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _span(cell, cls: str) -> str | None:
    found = cell.xpath(f".//span[{_xpath_class(cls)}]")
    return _text(found[0]) if found else None


def check_p_text(text: str | None, c: Comparison, where: str) -> None:
    """The p-value as the report prints it (``p < 0.001`` or three decimals)."""
    if c.identical or c.p_value is None:
        assert text is None, where
        return
    assert text is not None, where
    if text == "p < 0.001":
        assert c.p_value < 0.001, where
    else:
        shown = float(text.removeprefix("p = "))
        assert abs(shown - c.p_value) <= 0.0005 + 1e-12, (where, shown, c.p_value)


# --- the checks ----------------------------------------------------------------------------------


def check_document(results: Results) -> None:
    """The matrix is row − column, vs_baseline is the baseline column, identical means untested."""
    for ts in results.testsets:
        for m, mat in ts.pairwise.items():
            for row, cols in mat.items():
                for col, c in cols.items():
                    expected = ts.system(row).scores[m].score - ts.system(col).scores[m].score
                    assert c.delta == pytest.approx(expected, abs=1e-9), (ts.name, m, row, col)
                    assert c.p_value == mat[col][row].p_value, "a paired p-value is symmetric"
        for s in ts.systems:
            for m, c in s.vs_baseline.items():
                expected = s.scores[m].score - ts.system(ts.baseline).scores[m].score
                assert c.delta == pytest.approx(expected, abs=1e-9)
                if c.identical:
                    assert c.p_value is None and c.delta == 0
                if ts.pairwise.get(m):
                    assert c == ts.pairwise[m][s.name][ts.baseline]


def check_table(out: Outputs) -> None:
    assert all(line == line.rstrip() for line in out.table.splitlines()), "no padding in a pipe"
    for ts in out.results.testsets:
        rows = {r[0].removesuffix(" (baseline)"): r[1:] for r in rich_block(out.table, ts.name)}
        order = leaderboard_order(ts)
        assert list(rows) == order, "one row per system, on one line, baseline then best first"
        for s in ts.systems:
            expected = []
            for m in ts.metrics:
                expected.append(score_cell(ts, s.name, m))
                if s.name != ts.baseline:
                    expected.append(delta_cell(s.vs_baseline[m]))
            assert rows[s.name] == expected, (ts.name, s.name)
        for m in ts.metrics:
            if not ts.pairwise.get(m):
                assert f"{ts.name}: pairwise {LABELS[m]}," not in out.table
                continue
            body = rich_block(out.table, f"{ts.name}: pairwise {LABELS[m]},")
            names = order
            assert [r[0] for r in body] == [f"{i + 1} {n}" for i, n in enumerate(names)]
            for row_name, row in zip(names, body, strict=True):
                expected = [
                    "—" if col == row_name else delta_cell(ts.pairwise[m][row_name][col])
                    for col in names
                ]
                assert row[1:] == expected, (ts.name, m, row_name)
        moved = any(
            s.raw_scores[m].score != s.scores[m].score for s in ts.systems for m in ts.metrics
        )
        if moved:
            body = {r[0]: r for r in rich_block(out.table, f"{ts.name}: normalization impact")}
            for s in ts.systems:
                row = body[s.name]
                assert row[2] == f"{s.changed_segments}/{ts.segments}"
                expected = [
                    impact_cell(s.raw_scores[m].score, s.scores[m].score) for m in ts.metrics
                ]
                assert row[3:] == expected, (ts.name, s.name)


def check_markdown(out: Outputs) -> None:
    assert out.markdown is not None
    for ts in out.results.testsets:
        heading = f"### {ts.name} ("
        rows = markdown_table(out.markdown, "system", after=heading)
        names = leaderboard_order(ts)
        assert [r[0].removesuffix(" (baseline)") for r in rows] == names
        for s, row in zip(map(ts.system, names), rows, strict=True):
            expected = []
            for m in ts.metrics:
                c = s.vs_baseline.get(m)
                expected += [score_cell(ts, s.name, m), delta_cell(c) if c else ""]
            expected.append(str(s.changed_segments))
            assert row[1:] == expected, (ts.name, s.name)
        for m in ts.metrics:
            if not ts.pairwise.get(m):
                continue
            own = out.markdown[out.markdown.index(heading) :]
            body = markdown_table(own, "row − column", after=f"**Pairwise {LABELS[m]}**")
            for row_name, row in zip(names, body, strict=True):
                assert row[0] == row_name
                expected = [
                    "—" if col == row_name else delta_cell(ts.pairwise[m][row_name][col])
                    for col in names
                ]
                assert row[1:] == expected, (ts.name, m, row_name)


def check_csv(out: Outputs) -> None:
    frame = pd.read_csv(io.StringIO(out.csv), keep_default_na=False)
    for ts in out.results.testsets:
        for s in ts.systems:
            for m in ts.metrics:
                hit = frame[
                    (frame.testset == ts.name) & (frame.system == s.name) & (frame.metric == m)
                ]
                assert len(hit) == 1, (ts.name, s.name, m)
                row = hit.iloc[0]
                score = s.scores[m]
                assert float(row.score) == pytest.approx(score.score, abs=5e-7)
                assert float(row.raw_score) == pytest.approx(s.raw_scores[m].score, abs=5e-7)
                if score.ci is not None:
                    assert float(row.ci_low) == pytest.approx(score.ci[0], abs=5e-7)
                    assert float(row.ci_high) == pytest.approx(score.ci[1], abs=5e-7)
                assert int(row.changed_segments) == s.changed_segments
                c = s.vs_baseline.get(m)
                if c is None:
                    assert row.delta == "" and row.p_value == ""
                    continue
                assert float(row.delta) == pytest.approx(c.delta, abs=5e-7)
                assert str(row.identical) == str(c.identical)
                if c.p_value is None:
                    assert row.p_value == ""
                else:
                    assert float(row.p_value) == pytest.approx(c.p_value, abs=5e-7)


def _table(root, cls: str, section_id: str):
    sections = root.xpath(f'//section[@id="{section_id}"]')
    assert len(sections) == 1, section_id
    tables = sections[0].xpath(f".//table[{_xpath_class(cls)}]")
    return tables


def check_html(out: Outputs) -> None:
    root = html.parse(str(out.report)).getroot()
    sections = root.xpath("//section[" + _xpath_class("testset") + "]")
    assert len(sections) == len(out.results.testsets)
    for ts, section in zip(out.results.testsets, sections, strict=True):
        board = section.xpath(f".//table[{_xpath_class('board')}]")[0]
        body_rows = board.xpath("./tbody/tr")
        shown = [_span(tr.xpath("./th")[0], "sys") for tr in body_rows]
        assert shown == leaderboard_order(ts), "baseline first, then best first"
        for tr in body_rows:
            name = _span(tr.xpath("./th")[0], "sys")
            s = ts.system(name)
            tds = tr.xpath("./td")
            assert len(tds) == 2 * len(ts.metrics) + 1
            for k, m in enumerate(ts.metrics):
                score_td, delta_td = tds[2 * k], tds[2 * k + 1]
                assert _span(score_td, "num") == two(s.scores[m].score), (name, m)
                ci = s.scores[m].ci
                if ci is not None:
                    assert _span(score_td, "ci") == f"[{two(ci[0])}, {two(ci[1])}]", (name, m)
                c = s.vs_baseline.get(m)
                if c is None:
                    assert _span(delta_td, "num") == "—"
                    continue
                shown = _span(delta_td, "num")
                assert shown == ("identical" if c.identical else signed(c.delta)), (name, m)
                assert (_span(delta_td, "sig") == "*") == significant(c), (name, m)
                check_p_text(_span(delta_td, "p"), c, f"{ts.name}/{name}/{m}")
            assert _span(tds[-1], "num") == str(s.changed_segments)
        _check_html_pairwise(ts, section)
        _check_html_impact(ts, section)


def _check_html_pairwise(ts: TestSetResult, section) -> None:
    tables = section.xpath(f".//table[{_xpath_class('pairwise')}]")
    metrics = [m for m in ts.metrics if ts.pairwise.get(m)]
    assert len(tables) == len(metrics)
    names = leaderboard_order(ts)
    for m, table in zip(metrics, tables, strict=True):
        heads = [_text(th) for th in table.xpath("./thead/tr/th")[1:]]
        assert heads == names
        assert [_text(tr.xpath("./th")[0]) for tr in table.xpath("./tbody/tr")] == names
        for tr in table.xpath("./tbody/tr"):
            row = _text(tr.xpath("./th")[0])
            for col, td in zip(names, tr.xpath("./td"), strict=True):
                if col == row:
                    assert _text(td) == "—"
                    continue
                c = ts.pairwise[m][row][col]
                shown = _span(td, "num")
                assert shown == ("identical" if c.identical else signed(c.delta)), (m, row, col)
                assert (_span(td, "sig") == "*") == significant(c), (m, row, col)
                check_p_text(_span(td, "p"), c, f"{ts.name}/{m}/{row}/{col}")


def _check_html_impact(ts: TestSetResult, section) -> None:
    tables = section.xpath(f".//table[{_xpath_class('norm')}]")
    if not tables:
        return
    for tr in tables[0].xpath("./tbody/tr"):
        s = ts.system(_text(tr.xpath("./th")[0]))
        tds = tr.xpath("./td")
        assert _text(tds[0]) == f"{s.changed_segments} / {ts.segments:,}"
        for m, td in zip(ts.metrics, tds[-len(ts.metrics) :], strict=True):
            raw, norm = s.raw_scores[m].score, s.scores[m].score
            shown = _text(td)
            if two(raw) == two(norm):
                assert shown == two(norm), (s.name, m)
            else:
                gain = signed(float(two(norm)) - float(two(raw)))
                assert shown == f"{two(raw)} → {two(norm)}{gain}", (s.name, m)


def check_all(out: Outputs) -> None:
    check_document(out.results)
    check_table(out)
    if out.markdown is not None:
        check_markdown(out)
    check_csv(out)
    check_html(out)


# --- the cases -----------------------------------------------------------------------------------


def _with_copy_of_baseline(tmp_path: Path, fixtures_dir: Path) -> list[str]:
    """The seed article's en→zh systems plus ``copy``, byte-identical to the baseline."""
    shutil.copytree(fixtures_dir, tmp_path / "fx")
    shutil.copy(fixtures_dir / "en-zh" / "literal.zh", tmp_path / "fx" / "copy.zh")
    systems = ["literal", "strong", "taiwan", "traditional", "truncated", "weak"]
    return [f"{n}=en-zh/{n}.zh" for n in systems] + ["copy=copy.zh"]


@pytest.mark.parametrize("paired", ["bs", "ar"])
def test_every_output_of_score_shows_the_numbers_of_its_results(
    tmp_path: Path, fixtures_dir: Path, run_evalkit: Callable, paired: str
) -> None:
    systems = _with_copy_of_baseline(tmp_path, fixtures_dir)
    args = ["--ref", "article.zh", "--src", "article.en", "--paired", "all"]
    if paired == "ar":
        args += ["--paired-test", "ar"]
    out = score_outputs(run_evalkit, tmp_path / "fx", [*args, *systems])
    ts = out.results.testsets[0]
    assert ts.system("copy").vs_baseline["bleu"].identical  # the case the review found
    assert any(s.changed_segments for s in ts.systems)  # an impact table to read
    check_all(out)


def test_the_document_equals_evaluate_in_process(
    tmp_path: Path, fixtures_dir: Path, run_evalkit: Callable
) -> None:
    import evalkit

    systems = _with_copy_of_baseline(tmp_path, fixtures_dir)
    fx = tmp_path / "fx"
    out = score_outputs(run_evalkit, fx, ["--ref", "article.zh", "--paired", "all", *systems])
    pairs = dict(s.split("=", 1) for s in systems)
    testset = evalkit.load_testset(
        fx / "article.zh", {n: fx / p for n, p in pairs.items()}, name="article"
    )
    mine = evalkit.evaluate(testset, stats=evalkit.StatsOptions(pairwise=True))
    theirs = out.results.testsets[0]
    for s in mine.testsets[0].systems:
        other = theirs.system(s.name)
        assert other.scores == s.scores and other.raw_scores == s.raw_scores
        assert other.vs_baseline == s.vs_baseline
    assert theirs.pairwise == mine.testsets[0].pairwise


def test_every_output_of_run_on_the_fixtures_suite_shows_its_results(
    tmp_path: Path, fixtures_dir: Path, run_evalkit: Callable
) -> None:
    shutil.copytree(fixtures_dir, tmp_path / "fx")
    fx = tmp_path / "fx"
    table = _run_ok(run_evalkit, "run", "suite.toml", cwd=fx)
    written = next((fx / "reports").iterdir())
    results = Results.from_json((written / "results.json").read_text(encoding="utf-8"))
    csv = _csv_of(results)
    check_all(Outputs(results, table, None, csv, written / "report.html"))
    segments = pd.read_csv(written / "segments.csv", keep_default_na=False)
    for ts in results.testsets:
        data = ts.segment_data
        for name, by_metric in data.scores.items():
            for m, values in by_metric.items():
                column = segments[(segments.testset == ts.name) & (segments.system == name)]
                assert len(column) == ts.segments
                assert column[m].astype(float).tolist() == pytest.approx(values, abs=5e-7)


def _csv_of(results: Results) -> str:
    """``run`` writes no system CSV; ``score --format csv`` renders this same frame."""
    return results.systems.to_csv(index=False, float_format="%.6f", lineterminator="\n")


@pytest.mark.shared_data
@pytest.mark.skipif(not WMT22.is_dir(), reason="../shared/data/wmt22 is absent")
def test_every_output_agrees_on_a_wmt22_sample(tmp_path: Path, run_evalkit: Callable) -> None:
    folder = WMT22 / "zh-en"
    ref = folder / "ref.en"
    hyps = sorted(p for p in (folder / "systems").iterdir() if p.is_file())
    lines = 300

    def head(path: Path, name: str) -> str:
        text = path.read_text(encoding="utf-8").split("\n")[:lines]
        (tmp_path / name).write_text("\n".join(text) + "\n", encoding="utf-8")
        return name

    systems = [f"{p.name.split('.')[0]}={head(p, 'h' + str(i))}" for i, p in enumerate(hyps[:5])]
    systems.append(f"copy={head(hyps[0], 'copy')}")
    args = ["--ref", head(ref, "ref"), "--paired", "all", "--metrics", "bleu,chrf", *systems]
    out = score_outputs(run_evalkit, tmp_path, args)
    assert math.isfinite(out.results.testsets[0].systems[0].scores["bleu"].score)
    check_all(out)
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["schema"] >= 2
