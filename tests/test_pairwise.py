"""One orientation for the pairwise matrix, "identical" instead of a fake significance, and one
printed-precision rule for arrows and signs — checked by reading every output format back.

Every case is built by evaluate() on files written to tmp_path (or the bundled fixtures) and
read back from the real renderers: the terminal table, Markdown, CSV, JSON and the HTML report
(parsed with lxml).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import opencc
import pandas as pd
import pytest
from lxml import html
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

import evalkit
from evalkit.evaluation import StatsOptions
from evalkit.render import render_csv, render_markdown, render_table
from evalkit.report import render_report
from evalkit.results import Results, TestSetResult

LABEL = {"bleu": "BLEU", "chrf": "chrF2", "ter": "TER"}
STAR = 0.05


def printed_delta(d: float) -> str:
    """How a difference must read at two decimals: signed, and 0.00 when it rounds to zero."""
    text = f"{d:+.2f}"
    return "0.00" if float(text) == 0 else text


def expected_cell(ts: TestSetResult, metric: str, row: str, col: str) -> str:
    """A matrix cell computed from the corpus scores: row − column (and the star)."""
    cmp_ = ts.pairwise[metric][row][col]
    if cmp_.identical:
        return "identical"
    d = ts.system(row).scores[metric].score - ts.system(col).scores[metric].score
    star = "*" if cmp_.p_value is not None and cmp_.p_value < STAR else ""
    return printed_delta(d) + star


# ----------------------------------------------------------------------------- readers


def html_doc(res: Results):
    return html.fromstring(render_report(res).encode("utf-8"))


def html_matrix(doc, label: str) -> dict[str, dict[str, str]]:
    """Cells of the HTML pairwise table captioned ``label``: row → column → text (no p)."""
    table = doc.xpath(f"//table[contains(@class,'pairwise')][caption='{label}']")[0]
    cols = [th.text_content().strip() for th in table.xpath("./thead/tr/th")][1:]
    out: dict[str, dict[str, str]] = {}
    for tr in table.xpath("./tbody/tr"):
        row = tr.xpath("./th")[0].text_content().strip()
        for col, td in zip(cols, tr.xpath("./td"), strict=True):
            if col != row:
                num = td.xpath("string(span[@class='num'])") + td.xpath(
                    "string(span[@class='sig'])"
                )
                out.setdefault(row, {})[col] = num
    return out


def text_matrix(text: str, title: str, names: list[str]) -> dict[str, dict[str, str]]:
    """The terminal table's matrix under ``title``: rows ``"k name"``, column k is row k's
    system (the displayed order, which need not be ``names``' order)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    rows: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1] in names:
            assert int(parts[0]) == len(rows) + 1, line
            rows[parts[1]] = parts[2:]
            assert len(rows[parts[1]]) == len(names), line
        if len(rows) == len(names):
            break
    cols = list(rows)
    return {
        r: {c: v for c, v in zip(cols, cells, strict=True) if c != r} for r, cells in rows.items()
    }


def cells_of(line: str) -> list[str]:
    """A terminal table row's cells (rich pads every column with a space on each side)."""
    return re.split(r"\s{2,}", line.strip())


def md_rows(text: str, header_start: str) -> list[list[str]]:
    """Body rows of the Markdown table whose header row starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().replace("\\*", "*") for c in line.strip("|").split(" | ")])
    return rows


def md_matrix(text: str, label: str, names: list[str]) -> dict[str, dict[str, str]]:
    after = text.split(f"**Pairwise {label}**", 1)[1]
    header = next(line for line in after.splitlines() if line.startswith("| row − column |"))
    cols = [c.strip() for c in header.strip("|").split(" | ")][1:]
    assert sorted(cols) == sorted(names)
    out = {}
    for cells in md_rows(after, "| row − column |"):
        row = cells[0]
        out[row] = {c: v for c, v in zip(cols, cells[1:], strict=True) if c != row}
    return out


# ----------------------------------------------------------------------------- inputs


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def with_copy(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    """zh-en fixtures plus ``copy``: the baseline's file, byte for byte, under another name."""
    d = tmp_path_factory.mktemp("copy")
    (d / "ref.en").write_bytes((fixtures_dir / "article.en").read_bytes())
    for name in ("strong", "literal", "weak"):
        (d / f"{name}.en").write_bytes((fixtures_dir / f"zh-en/{name}.en").read_bytes())
    (d / "copy.en").write_bytes((fixtures_dir / "zh-en/strong.en").read_bytes())
    return d


def load_with_copy(d: Path) -> evalkit.TestSet:
    names = ("strong", "literal", "copy", "weak")
    return evalkit.load_testset(d / "ref.en", {n: d / f"{n}.en" for n in names})


@pytest.fixture(scope="module", params=["bs", "ar"])
def copy_results(request: pytest.FixtureRequest, with_copy: Path) -> Results:
    opts = StatsOptions(bootstrap=200, paired=request.param, pairwise=True, ar_trials=1000)
    return evalkit.evaluate(load_with_copy(with_copy), ["bleu", "chrf"], "none", stats=opts)


# ----------------------------------------------------------------------------- item 1


@pytest.mark.parametrize("test_type", ["bs", "ar"])
def test_pairwise_cell_is_row_minus_column_tested_with_the_column_as_baseline(
    fixtures_dir: Path, test_type: str
) -> None:
    names = ("strong", "literal", "truncated", "weak")
    ts_in = evalkit.load_testset(
        fixtures_dir / "article.zh", {n: fixtures_dir / f"en-zh/{n}.zh" for n in names}
    )
    n = 500
    opts = StatsOptions(bootstrap=n, paired=test_type, pairwise=True, ar_trials=n)
    ts = evalkit.evaluate(ts_in, ["bleu", "chrf"], "none", stats=opts).testsets[0]
    refs = [list(r) for r in ts_in.refs]
    metrics = {"BLEU": BLEU(tokenize="zh"), "chrF2": CHRF()}
    theirs = {}  # (baseline, system, label) → sacrebleu's result
    for col in names:
        order = [col, *(x for x in names if x != col)]
        _, res = PairedTest(
            [(x, list(ts_in.systems[x])) for x in order],
            metrics,
            refs,
            test_type=test_type,
            n_samples=n,
            n_ar_confidence=0,
        )()
        for label in metrics:
            results = res[label]
            for x, r in zip(order[1:], results[1:], strict=True):
                theirs[(col, x, label)] = (r.score - results[0].score, r.p_value)
    for metric, label in (("bleu", "BLEU"), ("chrf", "chrF2")):
        for row in names:
            for col in names:
                if row == col:
                    continue
                cell = ts.pairwise[metric][row][col]
                scores = ts.system(row).scores[metric].score - ts.system(col).scores[metric].score
                assert cell.delta == pytest.approx(scores, abs=1e-9)
                delta, p = theirs[(col, row, label)]
                assert cell.delta == pytest.approx(delta, abs=1e-9)
                assert cell.p_value == p
                # sacrebleu's own p-value does not depend on which system is the baseline
                assert theirs[(row, col, label)][1] == p
        assert all(
            ts.pairwise[metric][s.name][ts.baseline] == s.vs_baseline[metric]
            for s in ts.systems
            if s.name != ts.baseline
        )


def test_every_output_prints_the_pairwise_cell_as_row_minus_column(
    copy_results: Results,
) -> None:
    ts = copy_results.testsets[0]
    names = [s.name for s in ts.systems]
    table = render_table(copy_results, width=240)
    markdown = render_markdown(copy_results)
    doc = html_doc(copy_results)
    as_json = json.loads(copy_results.to_json())["testsets"][0]["pairwise"]
    for metric in ts.metrics:
        label = LABEL[metric]
        want = {r: {c: expected_cell(ts, metric, r, c) for c in names if c != r} for r in names}
        assert text_matrix(table, f"pairwise {label}, row − column", names) == want
        assert md_matrix(markdown, label, names) == want
        assert html_matrix(doc, label) == want
        for r in names:
            for c in names:
                if r != c and not ts.pairwise[metric][r][c].identical:
                    d = ts.system(r).scores[metric].score - ts.system(c).scores[metric].score
                    assert as_json[metric][r][c]["delta"] == pytest.approx(d, abs=1e-9)
    # the strongest system beats the weakest: its row reads positive, in green
    assert want["strong"]["weak"].startswith("+")
    strong_weak = doc.xpath("//table[contains(@class,'pairwise')]//tr[th='strong']/td")[3]
    assert "better" in strong_weak.get("class")


def test_schema_1_results_file_is_read_with_its_matrix_transposed(
    copy_results: Results, tmp_path: Path
) -> None:
    """A results.json written before the orientation was fixed still renders row − column."""
    d = json.loads(copy_results.to_json())
    d["schema"] = 1
    for ts in d["testsets"]:  # schema 1 stored pairwise[m][anchor][other] = other − anchor
        old: dict = {}
        for m, mat in ts["pairwise"].items():
            old[m] = {}
            for row, cells in mat.items():
                for col, cell in cells.items():
                    old[m].setdefault(col, {})[row] = cell
        ts["pairwise"] = old
    path = write(tmp_path / "old.json", [json.dumps(d)])
    back = Results.from_json(path.read_text(encoding="utf-8"), str(path))
    assert back.testsets[0].pairwise == copy_results.testsets[0].pairwise
    names = [s.name for s in back.testsets[0].systems]
    want = {
        r: {c: expected_cell(back.testsets[0], "bleu", r, c) for c in names if c != r}
        for r in names
    }
    assert html_matrix(html_doc(back), "BLEU") == want


def test_score_paired_all_prints_the_matrix_in_table_and_markdown(
    with_copy: Path, run_evalkit
) -> None:
    hyps = [with_copy / f"{n}.en" for n in ("strong", "literal", "weak")]
    base = ["score", "--ref", with_copy / "ref.en", "--metrics", "bleu", "--paired", "all"]
    table = run_evalkit(*base, *hyps)
    markdown = run_evalkit(*base, "--format", "markdown", *hyps)
    as_json = run_evalkit(*base, "--format", "json", *hyps)
    assert table.returncode == markdown.returncode == as_json.returncode == 0, table.stderr
    ts = Results.from_json(as_json.stdout).testsets[0]
    names = [s.name for s in ts.systems]
    want = {r: {c: expected_cell(ts, "bleu", r, c) for c in names if c != r} for r in names}
    assert text_matrix(table.stdout, "pairwise BLEU, row − column", names) == want
    assert md_matrix(markdown.stdout, "BLEU", names) == want


# ----------------------------------------------------------------------------- item 3


def test_a_copy_of_the_baseline_is_identical_untested_and_unstarred_in_every_output(
    copy_results: Results,
) -> None:
    ts = copy_results.testsets[0]
    assert ts.baseline == "strong"
    for metric in ts.metrics:
        cmp_ = ts.system("copy").vs_baseline[metric]
        assert cmp_.identical and cmp_.p_value is None and cmp_.delta == 0
        assert ts.pairwise[metric]["copy"]["strong"].identical
        assert ts.pairwise[metric]["strong"]["copy"].identical
        # every other comparison keeps its test
        assert ts.system("weak").vs_baseline[metric].p_value is not None
        assert not ts.pairwise[metric]["copy"]["weak"].identical
    # JSON: null p-value, explicit flag
    doc = json.loads(copy_results.to_json())["testsets"][0]
    row = next(s for s in doc["systems"] if s["name"] == "copy")
    for metric in ts.metrics:
        assert row["vs_baseline"][metric]["p_value"] is None
        assert row["vs_baseline"][metric]["identical"] is True
        assert doc["pairwise"][metric]["copy"]["strong"]["p_value"] is None
    # CSV: the flag, and no p-value
    csv = pd.read_csv(io.StringIO(render_csv(copy_results)))
    copy_rows = csv[csv["system"] == "copy"]
    assert copy_rows["identical"].all() and copy_rows["p_value"].isna().all()
    assert not csv[csv["system"] == "weak"]["identical"].any()
    # terminal table and Markdown: the Δ cell says identical, with no star
    table = render_table(copy_results, width=240)
    line = next(x for x in table.splitlines() if x.split()[:1] == ["copy"])
    assert cells_of(line)[2::2] == ["identical"] * len(ts.metrics) and "*" not in line
    assert "identical: same statistics" in table
    markdown = render_markdown(copy_results)
    md = next(r for r in md_rows(markdown, "| system |") if r[0] == "copy")
    assert md[2::2][: len(ts.metrics)] == ["identical"] * len(ts.metrics)
    # HTML: leaderboard cell and pairwise cells, no star and no p
    page = html_doc(copy_results)
    cells = page.xpath("//table[contains(@class,'board')]//tr[th[@data-sort='copy']]/td")
    deltas = [td for td in cells if "delta" in (td.get("class") or "")]
    assert len(deltas) == len(ts.metrics)
    for td in deltas:
        assert "identical" in td.get("class")
        assert td.xpath("string(span[@class='num'])") == "identical"
        assert not td.xpath("span[@class='sig'] | span[@class='p']")
    for metric in ts.metrics:
        assert html_matrix(page, LABEL[metric])["copy"]["strong"] == "identical"


def test_identical_is_decided_by_the_metrics_statistics(tmp_path: Path) -> None:
    """chrF ignores spaces: joining two words changes BLEU's statistics, not chrF's."""
    ref = ["the cat sat on the mat today", "a dog ran in the park", "birds sing at dawn"]
    base = ["the cat sat on a mat today", "a dog ran in the park", "birds sang at dawn"]
    joined = ["the cat sat on a mattoday", *base[1:]]
    far = ["nothing", "alike", "here"]
    ts_in = evalkit.load_testset(
        write(tmp_path / "ref.en", ref),
        {
            "base": write(tmp_path / "base.en", base),
            "joined": write(tmp_path / "joined.en", joined),
            "far": write(tmp_path / "far.en", far),
        },
    )
    opts = StatsOptions(bootstrap=100, paired="bs")
    ts = evalkit.evaluate(ts_in, ["bleu", "chrf"], "none", stats=opts).testsets[0]
    joined_vs = ts.system("joined").vs_baseline
    assert joined_vs["chrf"].identical and joined_vs["chrf"].p_value is None
    assert not joined_vs["bleu"].identical and joined_vs["bleu"].p_value is not None


def test_a_system_equal_to_the_baseline_after_normalization_is_identical(
    impact: Results,
) -> None:
    """Equality is judged on what is scored: the normalized statistics."""
    ts = impact.testsets[0]
    many = ts.system("many")
    assert many.changed_segments == 40
    assert all(c.identical and c.p_value is None for c in many.vs_baseline.values())
    assert all(many.raw_scores[m].score != many.scores[m].score for m in ts.metrics)


def test_streamed_results_mark_identical_systems_as_evaluate_does(with_copy: Path) -> None:
    from evalkit.streaming import score_files

    hyps = {n: str(with_copy / f"{n}.en") for n in ("strong", "copy", "weak")}
    for opts in (StatsOptions(), StatsOptions(bootstrap=100, paired="bs")):
        got = score_files([str(with_copy / "ref.en")], hyps, metrics="bleu", stats=opts)
        cmp_ = got.testsets[0].system("copy").vs_baseline["bleu"]
        assert cmp_.identical and cmp_.p_value is None
        assert not got.testsets[0].system("weak").vs_baseline["bleu"].identical


# ----------------------------------------------------------------------------- item 4


@pytest.fixture(scope="module")
def impact(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Results:
    """1,800 segments where one reference character is Traditional (so t2s moves every score
    a little), ``many``: the baseline with one Traditional character in 40 segments, and
    ``worse``: the baseline less two characters in one segment (deltas of about -0.002)."""
    s2t = opencc.OpenCC("s2t")

    def one_char(line: str) -> str:
        i = next(i for i, c in enumerate(line) if s2t.convert(c) != c)
        return line[:i] + s2t.convert(line[i]) + line[i + 1 :]

    k = 150
    ref = (fixtures_dir / "article.zh").read_text(encoding="utf-8").splitlines() * k
    strong = (fixtures_dir / "en-zh/strong.zh").read_text(encoding="utf-8").splitlines() * k
    d = tmp_path_factory.mktemp("impact")
    systems = {
        "strong": write(d / "strong.zh", strong),
        "many": write(d / "many.zh", [one_char(h) if i < 40 else h for i, h in enumerate(strong)]),
        "worse": write(d / "worse.zh", [strong[0][:-2], *strong[1:]]),
    }
    ts = evalkit.load_testset(write(d / "ref.zh", [one_char(ref[0]), *ref[1:]]), systems)
    return evalkit.evaluate(ts, ["bleu", "chrf", "ter"], "t2s")


def test_normalization_impact_draws_an_arrow_exactly_when_the_printed_score_moved(
    impact: Results,
) -> None:
    ts = impact.testsets[0]
    moved = {
        (s.name, m): f"{s.raw_scores[m].score:.2f}" != f"{s.scores[m].score:.2f}"
        for s in ts.systems
        for m in ts.metrics
    }
    # the data hold both cases, and scores that moved only below the printed precision
    assert any(moved.values()) and not all(moved.values())
    assert any(
        not moved[(s.name, m)] and s.raw_scores[m].score != s.scores[m].score
        for s in ts.systems
        for m in ts.metrics
    )
    table = render_table(impact, width=240)
    impact_lines = table.split("normalization impact", 1)[1].splitlines()
    page = html_doc(impact)
    norm_rows = page.xpath("//table[contains(@class,'norm')]/tbody/tr")
    for s in ts.systems:
        line = next(x for x in impact_lines if x.split()[:1] == [s.name])
        cells = cells_of(line)[3:]
        tr = next(r for r in norm_rows if r.xpath("string(th)").strip() == s.name)
        html_cells = [td.text_content() for td in tr.xpath("td")][-len(ts.metrics) :]
        for m, text, cell in zip(ts.metrics, cells, html_cells, strict=True):
            norm = f"{s.scores[m].score:.2f}"
            if moved[(s.name, m)]:
                assert text == f"{s.raw_scores[m].score:.2f} → {norm}"
                assert "→" in cell
            else:
                assert text == norm
                assert "→" not in cell and cell.strip() == norm


def test_no_output_prints_minus_zero(impact: Results) -> None:
    ts = impact.testsets[0]
    worse = ts.system("worse").vs_baseline
    assert all(-0.005 < c.delta < 0.005 for c in worse.values())
    assert any(c.delta < 0 for c in worse.values())
    page = html_doc(impact)
    for node in page.xpath("//script | //style"):
        node.drop_tree()
    outputs = [render_table(impact, width=240), render_markdown(impact), page.text_content()]
    for text in outputs:
        assert "-0.00" not in text and "−0.00" not in text
    line = next(x for x in outputs[0].splitlines() if x.split()[:1] == ["worse"])
    assert cells_of(line)[2::2] == ["0.00"] * len(ts.metrics)
