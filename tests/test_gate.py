"""The CI gate: rules validated on load, a pure verdict at printed precision, a baseline that
refuses apples-to-oranges comparisons, and exit codes 0 / 1 / 2 through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit import _io
from evalkit.cli import main
from evalkit.errors import ConfigError, InputError, MismatchError
from evalkit.evaluation import StatsOptions
from evalkit.gate import (
    GateConfig,
    GateRule,
    Measurement,
    decide,
    exit_code,
    judge,
    load_gate_config,
    make_baseline,
    parse_gate,
    read_baseline,
    render_junit,
    render_markdown,
    run_gate,
)
from evalkit.suite import load_suite

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GATE = FIXTURES / "gate"
SUITE = GATE / "suite.toml"
BASELINE = GATE / "baseline.json"
Run = Callable[..., subprocess.CompletedProcess[str]]


# --- the verdict: a pure function -----------------------------------------------------------


def bleu(base: float, cand: float, p: float | None = None) -> Measurement:
    return Measurement("en-zh", "cand", "bleu", True, base, cand, p)


def ter(base: float, cand: float, p: float | None = None) -> Measurement:
    return Measurement("en-zh", "cand", "ter", False, base, cand, p)


DROP = GateRule("drop", metric="*", max_drop=1.0, significance=0.05)
DROP_ANY = GateRule("drop-any", metric="*", max_drop=1.0, significance=None)

VERDICT_CASES = [
    # (rule, measurement, passed, reason fragment)
    (DROP, bleu(50.0, 49.5, 0.30), True, "drop 0.50 <= 1"),  # small drop: pass
    (DROP, bleu(50.0, 45.0, 0.001), False, "significant (p=0.0010 < 0.05)"),  # real regression
    (DROP, bleu(50.0, 45.0, 0.20), True, "not significant (p=0.2000"),  # big drop, noise: pass
    (DROP_ANY, bleu(50.0, 45.0, 0.20), False, "drop 5.00 > 1"),  # same drop, significance none
    (DROP, bleu(50.0, 53.0, 0.001), True, "improved by 3.00"),  # a significant gain never fails
    (DROP, ter(30.0, 33.0, 0.001), False, "rise 3.00 > 1"),  # TER going up is the worsening
    (DROP, ter(30.0, 30.5, 0.3), True, "rise 0.50 <= 1"),  # ...and is called a rise
    (DROP, ter(30.0, 25.0, 0.001), True, "improved by 5.00"),  # TER going down is a gain
    (DROP, bleu(50.0, 45.0, None), False, "no paired p-value"),  # cannot judge noise: fail
    # p is compared as printed (4 decimals): 0.04996 prints 0.0500, which is not < 0.05
    (DROP, bleu(50.0, 45.0, 0.04996), True, "p=0.0500 >= 0.05"),
    # drop of the printed scores 35.13 - 34.10 = 1.03 (raw 35.134 - 34.096 = 1.038)
    (GateRule("r", max_drop=1.03, significance=None), bleu(35.134, 34.096), True, "1.03 <= 1.03"),
    (GateRule("r", max_drop=1.02, significance=None), bleu(35.134, 34.096), False, "1.03 > 1.02"),
]


@pytest.mark.parametrize(("rule", "m", "passed", "reason"), VERDICT_CASES)
def test_judge_decides_drops_direction_and_significance(
    rule: GateRule, m: Measurement, passed: bool, reason: str
) -> None:
    v = judge(rule, m)
    assert v.passed is passed
    assert reason in v.reason


@pytest.mark.parametrize(
    ("m", "floor", "passed"),
    [
        (bleu(50.0, 34.104), 34.1, True),  # prints 34.10: not below a floor of 34.1
        (bleu(50.0, 34.0949), 34.1, False),  # prints 34.09: below
        (bleu(50.0, 34.095), 34.1, False),  # stored as 34.09499…, printed 34.09: below
        (ter(30.0, 60.004), 60.0, True),  # TER's limit is a ceiling (max); prints 60.00
        (ter(30.0, 60.006), 60.0, False),  # prints 60.01: above the ceiling
        (ter(30.0, 12.0), 60.0, True),
    ],
)
def test_min_floor_and_max_ceiling_are_judged_at_printed_precision(
    m: Measurement, floor: float, passed: bool
) -> None:
    limit = {"min": floor} if m.higher_is_better else {"max": floor}
    v = judge(GateRule("floor", metric=m.metric, **limit), m)
    assert v.passed is passed
    assert f"{v.candidate:.2f}" == f"{m.candidate:.2f}"  # the verdict's number is the printed one
    if not passed:
        assert ("below floor" if m.metric == "bleu" else "above ceiling") in v.reason


def test_verdict_numbers_are_the_printed_ones_and_delta_is_their_difference() -> None:
    v = judge(DROP, bleu(35.134, 34.096, 0.5))
    assert (v.baseline, v.candidate, v.delta, v.drop) == (35.13, 34.10, -1.03, 1.03)
    t = judge(DROP, ter(30.0, 30.0, 1.0))
    assert t.drop == 0.0 and str(t.drop) == "0.0"  # never "-0.00"


def test_decide_expands_wildcards_and_exit_code_is_one_on_any_failure() -> None:
    rules = [
        GateRule("all", max_drop=1.0, significance=None),
        GateRule("ter-only", testset="en-zh", metric="ter", max=40.0),
        GateRule("other-set", testset="zh-en", metric="bleu", min=1.0),
    ]
    ms = [bleu(50.0, 49.8), ter(30.0, 45.0)]
    verdicts = decide(rules, ms)
    assert [(v.rule.name, v.metric) for v in verdicts] == [
        ("all", "bleu"),
        ("all", "ter"),
        ("ter-only", "ter"),
    ]
    assert [v.passed for v in verdicts] == [True, False, False]
    assert exit_code(verdicts) == 1
    assert exit_code(verdicts[:1]) == 0


# --- rules: validated on load ---------------------------------------------------------------


@pytest.fixture(scope="module")
def suite():
    return load_suite(SUITE)


def rules_table(**rule: object) -> dict[str, object]:
    return {"rules": [{"metric": "bleu", "max_drop": 1.0, **rule}]}


BAD_RULES = [
    # (table, message fragment)
    (rules_table(max_dorp=1), "unknown key 'max_dorp'"),
    (rules_table(max_drop="1"), "max_drop must be a number, got '1'"),
    (rules_table(max_drop=True), "max_drop must be a number"),
    (rules_table(max_drop=-0.5), "max_drop must be >= 0"),
    (rules_table(significance=0), "significance must be in (0, 1)"),
    (rules_table(significance=1.5), "significance must be in (0, 1)"),
    (rules_table(significance="never"), 'significance must be a number in (0, 1) or "none"'),
    (rules_table(metric="bleuu"), "unknown metric 'bleuu'. Did you mean 'bleu'?"),
    (rules_table(metric="chrf++"), "metric 'chrf++' is not scored by the suite"),
    (rules_table(testset="fr-en"), "testset 'fr-en' is not in the suite"),
    (rules_table(metric="*", max_drop=None, min=30), "min needs one metric, not '*'"),
    (rules_table(metric="*", max_drop=None, max=30), "max needs one metric, not '*'"),
    ({"rules": [{"metric": "bleu"}]}, "needs min (a floor), max (a ceiling, for TER) and/or"),
    ({"rules": [{"metric": "bleu", "min": 3, "significance": 0.05}]}, "significance applies to"),
    ({"rules": [{"name": "a", "max": 1, "metric": "ter"}] * 2}, "duplicate rule name 'a'"),
    # a limit in the wrong direction names the right key
    (
        {"rules": [{"metric": "ter", "min": 60}]},
        "ter is lower-is-better: write its limit as a ceiling, max = 60",
    ),
    (
        {"rules": [{"metric": "bleu", "max": 40}]},
        "bleu is higher-is-better: write its limit as a floor, min = 40",
    ),
    ({"rules": [{"metric": "ter", "min": 10, "max": 60}]}, "ter is lower-is-better"),
    ({"rules": []}, "[gate] has no rules"),
    ({"rules": {"metric": "bleu"}}, "must be an array of tables"),
    ({**rules_table(), "treshold": 1}, "unknown key 'treshold' in [gate]"),
    ({**rules_table(), "candidates": ["nope"]}, "'nope' is not a system of any test set"),
    ({**rules_table(), "candidates": "reworded"}, "candidates must be a non-empty list"),
    ({**rules_table(), "paired": "wilcoxon"}, "paired must be 'bs' or 'ar'"),
]


@pytest.mark.parametrize(("table", "fragment"), BAD_RULES)
def test_bad_rules_are_one_line_config_errors_naming_the_suite(
    suite, table: dict, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_gate(table, suite, SUITE)
    message = str(info.value)
    assert fragment in message
    assert message.startswith(str(SUITE)) and "\n" not in message


def test_the_bundled_gate_rules_parse(suite) -> None:
    config = load_gate_config(suite)
    assert [r.name for r in config.rules][:3] == ["bleu-drop", "chrf-drop", "ter-rise"]
    ceiling = config.rules[-1]
    assert (ceiling.testset, ceiling.metric, ceiling.max, ceiling.min) == (
        "zh-en",
        "ter",
        60.0,
        None,
    )
    assert config.baseline == GATE / "baseline.json"
    assert config.candidates is None and config.paired_test(suite) == "bs"
    assert GateRule("x", max_drop=1, significance=None).describe() == "max_drop 1 (any)"


def suite_text(
    *, suite_extra: str = "", normalize: str = "auto", gate: str = "", testsets: str | None = None
) -> str:
    """The fixture gate suite with absolute paths (so it can live in tmp_path), without its
    [gate] unless given, with optional [suite] settings and replacement test sets."""
    text = SUITE.read_text(encoding="utf-8").split("[gate]")[0]
    text = text.replace('"../', f'"{FIXTURES}/')
    for d in ("en-zh/", "zh-en/"):
        text = text.replace(f'= "{d}', f'= "{GATE}/{d}')
    text = text.replace('normalize = "auto"\n', f'normalize = "{normalize}"\n{suite_extra}\n')
    if testsets is not None:
        text = text.split("[[testsets]]")[0] + testsets
    return text + gate


def test_a_bad_rule_error_names_the_line_of_its_table(tmp_path: Path) -> None:
    gate = '[gate]\n[[gate.rules]]\nmetric = "bleu"\nmin = 3\n[[gate.rules]]\nmetric = "ter"\n'
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(gate=gate), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    second = [i for i, ln in enumerate(lines, 1) if ln == "[[gate.rules]]"][1]
    with pytest.raises(ConfigError, match=rf"suite\.toml:{second}: \[\[gate\.rules\]\] #2: needs"):
        load_gate_config(load_suite(path))


def test_rules_come_from_pyproject_when_the_suite_has_no_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "eval").mkdir()
    path = tmp_path / "eval" / "suite.toml"
    path.write_text(suite_text(), encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n[tool.evalkit.gate]\nbaseline = "eval/b.json"\n'
        '[[tool.evalkit.gate.rules]]\nmetric = "bleu"\nmax_drop = 2\nsignificance = "none"\n',
        encoding="utf-8",
    )
    s = load_suite(path)
    with pytest.raises(ConfigError, match="no gate rules"):
        load_gate_config(s)  # not next to the suite, and no cwd given
    monkeypatch.chdir(tmp_path)
    config = load_gate_config(s, cwd=Path.cwd())
    assert config.path == tmp_path / "pyproject.toml"
    assert config.rules == (GateRule("rule1", "*", "bleu", None, 2.0, None),)
    assert config.baseline == tmp_path / "eval" / "b.json"
    pyproject.write_text(
        '[[tool.evalkit.gate.rules]]\nmetric = "blue"\nmin = 1\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"pyproject\.toml:1: .*unknown metric 'blue'"):
        load_gate_config(s, cwd=tmp_path)


def test_a_ter_floor_written_min_exits_2_naming_the_line_and_max(
    run_evalkit: Run, tmp_path: Path
) -> None:
    gate = (
        '[gate]\nbaseline = "b.json"\n[[gate.rules]]\nname = "ceiling"\nmetric = "ter"\nmin = 60\n'
    )
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(gate=gate), encoding="utf-8")
    line = path.read_text("utf-8").splitlines().index("[[gate.rules]]") + 1
    proc = run_evalkit("gate", path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        f"evalkit: error: {path}:{line}: [[gate.rules]] #1: ter is lower-is-better: write its "
        "limit as a ceiling, max = 60 (min is a floor, for higher-is-better metrics such as "
        "bleu)\n"
    )


def test_the_readme_gate_example_is_a_valid_gate(tmp_path: Path) -> None:
    readme = (FIXTURES.parent / "README.md").read_text("utf-8")
    section = readme.split("## CI regression gate", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    text = suite_text(gate=example).replace("reworded = ", "nightly = ")  # its candidate
    path = tmp_path / "suite.toml"
    path.write_text(text, encoding="utf-8")
    config = load_gate_config(load_suite(path))
    limits = {
        r.metric: (r.min, r.max) for r in config.rules if r.max_drop is None and not r.diagnostic
    }
    assert limits == {"bleu": (40.0, None), "ter": (None, 60.0)}
    assert [(r.diagnostic, r.max_rate) for r in config.rules if r.diagnostic] == [
        ("off_target", 0.01)
    ]


def test_a_limit_in_the_wrong_direction_is_refused_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="rule 'c': ter is lower-is-better.*max = 60"):
        GateRule("c", metric="ter", min=60.0)
    with pytest.raises(ConfigError, match="rule 'f': chrf is higher-is-better.*min = 40"):
        GateRule("f", metric="chrf", max=40.0)
    assert GateRule("x", metric="ter", max=60.0).describe() == "max 60"


# --- significance the resamples can reach ---------------------------------------------------


@pytest.mark.parametrize(
    ("stats", "significance", "refused"),
    [
        (StatsOptions(10, "bs"), 0.05, True),  # smallest p 1/11 = 0.0909
        (StatsOptions(19, "bs"), 0.05, True),  # 1/20 = 0.0500 is not < 0.05
        (StatsOptions(20, "bs"), 0.05, False),  # 1/21 = 0.0476
        (StatsOptions(0, "bs"), 0.05, False),  # CIs off: the paired bootstrap still draws 1000
        (StatsOptions(99, "bs"), 0.01, True),  # 1/100 = 0.0100
        (StatsOptions(10, "bs"), "none", False),  # no significance asked: nothing to reach
        (StatsOptions(10, "ar", ar_trials=10), 0.05, True),  # AR: 1/(trials+1) likewise
    ],
)
def test_a_significance_the_resamples_cannot_reach_is_refused(
    suite, stats: StatsOptions, significance: object, refused: bool
) -> None:
    from evalkit.gate.run import check_reachable

    config = parse_gate(rules_table(significance=significance), suite, SUITE)
    if not refused:
        check_reachable(config, stats)
        return
    with pytest.raises(ConfigError, match="cannot be reached with") as info:
        check_reachable(config, stats)
    assert str(info.value).startswith(str(SUITE))


def test_gate_with_too_few_resamples_exits_2_instead_of_passing_a_regression(
    run_evalkit: Run,
) -> None:
    proc = run_evalkit("gate", SUITE, "--candidate", "regressed", "--bootstrap", "10")
    assert proc.returncode == 2 and proc.stdout == ""
    line = SUITE.read_text("utf-8").splitlines().index("[[gate.rules]]") + 1
    assert proc.stderr == (
        f"evalkit: error: {SUITE}:{line}: rule 'bleu-drop': significance 0.05 cannot be "
        "reached with 10 paired-bs resamples (the smallest p-value is 1/(10+1) = 0.0909), so "
        "every drop beyond max_drop would pass as noise; use --bootstrap 20 or more, or "
        'significance = "none"\n'
    )


# --- a candidate identical to the baseline --------------------------------------------------


@pytest.fixture(scope="module")
def identical_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """`evalkit baseline` then `evalkit gate` on a suite whose candidate `copy` is a byte copy
    of the released output (plus `reworded`, which differs)."""
    from conftest import evalkit_command

    tmp = tmp_path_factory.mktemp("identical")
    for d, ext in (("en-zh", "zh"), ("zh-en", "en")):
        (tmp / f"copy.{ext}").write_bytes((GATE / d / f"released.{ext}").read_bytes())
    rules = SUITE.read_text("utf-8").split("[gate]")[1].replace('baseline = "baseline.json"', "")
    text = suite_text(gate="[gate]" + rules)  # the bundled rules; the baseline is given below
    for d, ext in (("en-zh", "zh"), ("zh-en", "en")):
        text = text.replace(
            f'regressed = "{GATE}/{d}/regressed.{ext}"', f'copy = "{tmp}/copy.{ext}"'
        )
    suite_path = tmp / "suite.toml"
    suite_path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*evalkit_command(), *args],
            capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
        )  # fmt: skip

    base = run("baseline", str(suite_path), "--write", str(tmp / "b.json"))
    assert base.returncode == 0, base.stderr
    common = [str(suite_path), "--baseline", str(tmp / "b.json"), "--candidate", "copy"]
    json_run = run(
        "gate", *common, "--format", "json",
        "--junit", str(tmp / "gate.xml"), "--summary", str(tmp / "gate.md"),
    )  # fmt: skip
    table_run = run("gate", *common)
    return {"json": json_run, "table": table_run, "dir": tmp}


def test_a_candidate_identical_to_the_baseline_passes_without_a_paired_test(
    identical_run: dict,
) -> None:
    proc = identical_run["json"]
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    checks = report["checks"]
    assert report["passed"] is True and {c["system"] for c in checks} == {"copy"}
    assert len(checks) == 8
    for c in checks:
        assert c["identical"] is True and c["p_value"] is None and c["verdict"] == "pass"
        assert c["reason"].startswith("identical to baseline") and c["delta"] == 0.0
        assert "p=" not in c["reason"]


def test_identical_to_baseline_is_said_in_the_table_markdown_and_junit(
    identical_run: dict,
) -> None:
    table = identical_run["table"]
    assert table.returncode == 0, table.stderr
    rows = [ln for ln in table.stdout.splitlines() if " copy " in ln]
    assert len(rows) == 8
    for row in rows:
        assert "identical to baseline" in row and "0.0010" not in row and "—" in row
    md = (identical_run["dir"] / "gate.md").read_text("utf-8")
    md_rows = [ln for ln in md.splitlines() if "| copy |" in ln]
    assert len(md_rows) == 8
    assert all("| — | ✅ pass | identical to baseline" in ln for ln in md_rows)
    root = ET.parse(identical_run["dir"] / "gate.xml").getroot()
    outs = [e.text or "" for e in root.findall(".//system-out")]
    assert len(outs) == 8 and root.find(".//failure") is None
    assert all("p —" in o and "identical to baseline" in o for o in outs)


# --- the baseline file ----------------------------------------------------------------------


def test_the_committed_baseline_is_what_evalkit_baseline_writes(
    run_evalkit: Run, tmp_path: Path
) -> None:
    out = tmp_path / "baseline.json"
    proc = run_evalkit("baseline", SUITE, "--write", out)
    assert proc.returncode == 0, proc.stderr
    assert "en-zh: released, 12 segments: BLEU 51.97" in proc.stderr
    written, committed = json.loads(out.read_text("utf-8")), json.loads(BASELINE.read_text("utf-8"))
    written.pop("versions")
    committed.pop("versions")  # numpy/opencc builds may differ; they are provenance only
    assert written == committed
    en_zh = committed["testsets"]["en-zh"]
    assert en_zh["output"] == (GATE / "en-zh/released.zh").read_text("utf-8").splitlines()
    assert (
        en_zh["segments"] == 12
        and en_zh["normalization"] == "opencc:t2s-if-traditional|punct:no|width:no"
    )
    assert "tok:zh" in en_zh["scores"]["bleu"]["signature"]


def test_baseline_system_can_be_chosen_and_must_exist(suite) -> None:
    b = make_baseline(suite, system="reworded")
    assert {t.system for t in b.testsets.values()} == {"reworded"}
    assert b.testsets["en-zh"].output == tuple(
        (GATE / "en-zh/reworded.zh").read_text("utf-8").splitlines()
    )
    with pytest.raises(ConfigError, match="--system 'nope' is not a system of test set 'en-zh'"):
        make_baseline(suite, system="nope")


def damaged(tmp_path: Path, edit: Callable[[dict], None]) -> Path:
    doc = json.loads(BASELINE.read_text("utf-8"))
    edit(doc)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (
            lambda d: d["testsets"]["en-zh"]["output"].__setitem__(0, "x"),
            "do not match output_hash",
        ),
        (lambda d: d["testsets"]["en-zh"]["output"].pop(), "stores 11 output lines for 12"),
        (lambda d: d.__setitem__("schema", 2), "baseline schema 2 is not supported"),
        (lambda d: d.__setitem__("kind", "results"), "not an evalkit baseline file"),
        (lambda d: d["testsets"]["zh-en"].pop("scores"), "malformed baseline file: missing or bad"),
        (lambda d: d.__setitem__("testsets", {}), "baseline file has no test sets"),
    ],
)
def test_a_damaged_baseline_is_an_input_error(
    tmp_path: Path, edit: Callable[[dict], None], fragment: str
) -> None:
    path = damaged(tmp_path, edit)
    with pytest.raises(InputError, match="baseline") as info:
        read_baseline(path)
    assert fragment in str(info.value) and str(info.value).startswith(str(path))


# --- mismatches: never compare apples with oranges ------------------------------------------


def gate_once(suite_path: Path) -> object:
    s = load_suite(suite_path)
    config = parse_gate({"rules": [{"metric": "bleu", "max_drop": 1.0}]}, s, suite_path)
    return run_gate(s, config, read_baseline(BASELINE), stats=StatsOptions(0, "bs"))


def copy_testset_files(tmp_path: Path, lines: slice, edit_ref: bool = False) -> str:
    """en-zh test set files copied to tmp_path (a slice of their lines; optionally a ref edit)."""
    out = {}
    for key, src in {
        "ref": FIXTURES / "article.zh",
        "src": FIXTURES / "article.en",
        **{s: GATE / f"en-zh/{s}.zh" for s in ("released", "reworded")},
    }.items():
        text = src.read_text("utf-8").splitlines()[lines]
        if edit_ref and key == "ref":
            text[0] = text[0].replace("白宫", "白宮")
        (tmp_path / f"{key}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
        out[key] = tmp_path / f"{key}.txt"
    zh_en = suite_text().split("[[testsets]]")[2]
    return (
        f'[[testsets]]\nname = "en-zh"\nlang = "zh"\nsource = "{out["src"]}"\n'
        f'refs = ["{out["ref"]}"]\nbaseline = "released"\n[testsets.systems]\n'
        f'released = "{out["released"]}"\nreworded = "{out["reworded"]}"\n\n'
        f"[[testsets]]{zh_en}"
    )


def with_extra_testset() -> str:
    text = suite_text()
    en_zh = text.split("[[testsets]]")[1]
    return text + "[[testsets]]" + en_zh.replace('name = "en-zh"', 'name = "en-zh-copy"')


MISMATCHES = {
    # name: (the suite, differing from the one the baseline was made with; the message)
    "tokenizer": (
        lambda: suite_text(suite_extra='tokenize = "13a"'),
        "en-zh: BLEU signature differs: baseline tok:zh, now tok:13a",
    ),
    "normalization": (
        lambda: suite_text(normalize="none"),
        "en-zh: normalization differs: baseline opencc:t2s-if-traditional, now opencc:none",
    ),
    "missing test set": (
        with_extra_testset,
        "test set 'en-zh-copy' is in the suite but not in the baseline",
    ),
}


@pytest.mark.parametrize("case", sorted(MISMATCHES))
def test_setting_mismatches_are_refused_with_what_differs(tmp_path: Path, case: str) -> None:
    text, message = MISMATCHES[case]
    path = tmp_path / "suite.toml"
    path.write_text(text(), encoding="utf-8")
    with pytest.raises(MismatchError) as info:
        gate_once(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(BASELINE))


def test_content_and_segment_count_mismatches_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    edited = tmp_path / "a" / "suite.toml"
    testsets = copy_testset_files(tmp_path / "a", slice(None), edit_ref=True)
    edited.write_text(suite_text(testsets=testsets), encoding="utf-8")
    with pytest.raises(MismatchError, match="en-zh: test set content differs: references changed"):
        gate_once(edited)
    shorter = tmp_path / "b" / "suite.toml"
    testsets = copy_testset_files(tmp_path / "b", slice(0, 11))
    shorter.write_text(suite_text(testsets=testsets), encoding="utf-8")
    with pytest.raises(MismatchError, match="en-zh: segment count differs: baseline 12, now 11"):
        gate_once(shorter)


def test_a_large_insignificant_drop_passes_with_significance_and_fails_without(suite) -> None:
    base = read_baseline(BASELINE)
    for significance, passed in ((0.05, True), ("none", False)):
        config = parse_gate(
            {
                "candidates": ["one-slip"],
                "rules": [{"metric": "bleu", "max_drop": 1.0, "significance": significance}],
            },
            suite,
            SUITE,
        )
        report = run_gate(suite, config, base, stats=StatsOptions(0, "bs"))
        assert [v.system for v in report.verdicts] == ["one-slip", "one-slip"]
        assert all(v.drop > 5 for v in report.verdicts)
        assert report.passed is passed and report.exit_code == (0 if passed else 1)


# --- end to end through the console script --------------------------------------------------


def test_gate_passes_noise_and_prints_the_table(run_evalkit: Run) -> None:
    proc = run_evalkit(
        "gate", SUITE, "--baseline", BASELINE, "--candidate", "reworded", "--candidate", "one-slip"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for column in ("rule", "test set", "system", "metric", "baseline", "candidate", "Δ", "p"):
        assert column in out
    assert "PASSED: 16 checks passed" in out
    row = next(
        ln for ln in out.splitlines() if "bleu-drop" in ln and "en-zh" in ln and "one-sl" in ln
    )
    assert "51.97" in row and "46.58" in row and "-5.39" in row and "not significant" in row


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One failing run writing every output; several tests read it."""
    from conftest import evalkit_command

    tmp = tmp_path_factory.mktemp("gate")
    step = tmp / "step-summary.md"
    step.write_text("## earlier step\n", encoding="utf-8")
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step)}
    for name in ("SACREBLEU_SEED", "SACREBLEU_FORMAT", "SACREBLEU", "NO_COLOR"):
        env.pop(name, None)
    proc = subprocess.run(
        [*evalkit_command(), "gate", str(SUITE), "--format", "json",
         "--candidate", "regressed", "--candidate", "reworded",
         "--junit", str(tmp / "out" / "gate.xml"), "--summary", str(tmp / "gate.md")],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
    )  # fmt: skip
    return {"proc": proc, "dir": tmp, "step": step}


def test_a_significant_regression_exits_1_with_json(regression: dict) -> None:
    proc = regression["proc"]
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] is False and report["exit_code"] == 1
    failed = {
        (c["rule"], c["testset"], c["system"]) for c in report["checks"] if c["verdict"] == "fail"
    }
    assert {s for _, _, s in failed} == {"regressed"}
    assert ("en-zh-bleu-floor", "en-zh", "regressed") in failed
    assert ("zh-en-ter-ceiling", "zh-en", "regressed") in failed
    ter_row = next(
        c for c in report["checks"] if c["rule"] == "ter-rise" and c["system"] == "regressed"
    )
    assert ter_row["delta"] > 0 and ter_row["drop"] == ter_row["delta"]  # TER up = drop
    assert ter_row["p_value"] < 0.05


def test_junit_xml_has_one_testcase_per_check_and_failures(regression: dict) -> None:
    root = ET.parse(regression["dir"] / "out" / "gate.xml").getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == int(root.get("tests")) == 16  # 8 checks × 2 candidates
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == int(root.get("failures")) == 8
    for ts in root.findall("testsuite"):
        assert int(ts.get("tests")) == len(ts.findall("testcase"))
        assert int(ts.get("failures")) == len(ts.findall("testcase/failure"))
    first = failures[0]
    assert first.get("type") == "regression" and "significant" in first.get("message")
    assert "baseline 51.97, candidate 8.90, delta -43.07" in first.text


def test_markdown_summary_is_written_and_appended_to_the_step_summary(regression: dict) -> None:
    md = (regression["dir"] / "gate.md").read_text("utf-8")
    assert md.startswith("### ❌ evalkit gate: FAILED: 8 of 16 checks failed")
    assert "#### Failures" in md and "<details><summary>All checks</summary>" in md
    assert "| en-zh-bleu-floor | en-zh | regressed | BLEU ↑ | 51.97 | 8.90 | -43.07 |" in md
    assert "p=0.0010 &lt; 0.05" in md  # raw '<' never reaches the PR page
    step = regression["step"].read_text("utf-8")
    assert step == "## earlier step\n" + md


def test_markdown_of_a_passing_run_has_no_failures_section(suite) -> None:
    config = parse_gate({"rules": [{"metric": "chrf", "max_drop": 2.0}]}, suite, SUITE)
    config = config.with_candidates(["reworded"], suite)
    report = run_gate(suite, config, read_baseline(BASELINE), stats=StatsOptions(0, "bs"))
    md = render_markdown(report)
    assert md.startswith("### ✅ evalkit gate: PASSED: 2 checks passed")
    assert "Failures" not in md and "| rule1 | zh-en | reworded | chrF2 ↑ |" in md
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    assert (root.get("tests"), root.get("failures")) == ("2", "0")
    assert root.find(".//failure") is None and len(root.findall(".//system-out")) == 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "baseline file not found; write one with: evalkit baseline SUITE --write FILE"),
        ("corrupt", "baseline.json:16:19: baseline file is not valid JSON: Unterminated string"),
        ("tokenizer", "en-zh: BLEU signature differs: baseline tok:zh, now tok:13a"),
    ],
)
def test_bad_baselines_exit_2_with_one_line(
    run_evalkit: Run, tmp_path: Path, case: str, message: str
) -> None:
    suite_path, baseline = SUITE, tmp_path / "baseline.json"
    if case == "corrupt":
        baseline.write_text(BASELINE.read_text("utf-8")[:300], encoding="utf-8")
    if case == "tokenizer":
        suite_path, baseline = tmp_path / "suite.toml", BASELINE
        gate = SUITE.read_text("utf-8").split("[gate]")[1].replace('"baseline.json"', "'x'")
        text = suite_text(suite_extra='tokenize = "13a"', gate="[gate]" + gate)
        suite_path.write_text(text, encoding="utf-8")
    proc = run_evalkit("gate", suite_path, "--baseline", baseline)
    assert proc.returncode == 2
    assert proc.stdout == ""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("evalkit: error: ")]
    assert len(errors) == 1 and proc.stderr.endswith(errors[0] + "\n")  # one line, no traceback
    assert message in errors[0]
    assert str(baseline) in errors[0]


# --- atomic writes --------------------------------------------------------------------------


def test_outputs_are_atomic_a_failed_write_leaves_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junit, step = tmp_path / "gate.xml", tmp_path / "step.md"
    junit.write_text("old junit", encoding="utf-8")
    step.write_text("old summary\n", encoding="utf-8")
    real_fsync = os.fsync

    def fail_on_summary(fd: int) -> None:  # the JUnit file got through; the append's fsync fails
        if os.readlink(f"/proc/self/fd/{fd}") == str(step):  # after its write: it must be undone
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(_io.os, "fsync", fail_on_summary)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    args = ["gate", str(SUITE), "--candidate", "reworded", "--junit", str(junit)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "No space left on device" in result.output  # one line
    assert junit.read_text("utf-8").startswith("<?xml")  # replaced whole
    assert step.read_text("utf-8") == "old summary\n"  # untouched, not half-appended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gate.xml", "step.md"]  # no temp left

    blocked = tmp_path / "gate.xml" / "sub" / "out.xml"  # a parent is a file
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    result = CliRunner().invoke(main, [*args[:4], "--summary", str(blocked)])
    assert result.exit_code == 2
    assert "is not a directory" in result.output and not blocked.exists()


def test_no_baseline_given_anywhere_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(gate='[gate]\n[[gate.rules]]\nmetric = "bleu"\nmin = 1\n'))

    result = CliRunner().invoke(main, ["gate", str(path)])
    assert result.exit_code == 2
    assert "no baseline: pass --baseline FILE or set [gate].baseline" in result.output


def test_gate_config_candidates_flag_replaces_the_file(suite) -> None:
    config = GateConfig((GateRule("r", min=1.0, metric="bleu"),), SUITE, ("reworded",))
    assert config.with_candidates(["regressed"], suite).candidates == ("regressed",)
    assert config.with_candidates([], suite).candidates == ("reworded",)
    with pytest.raises(ConfigError, match="--candidate: 'typo' is not a system"):
        config.with_candidates(["typo"], suite)


def test_fixture_copies_are_byte_identical_to_the_strong_systems() -> None:
    assert (GATE / "en-zh/released.zh").read_bytes() == (FIXTURES / "en-zh/strong.zh").read_bytes()
    assert (GATE / "zh-en/released.en").read_bytes() == (FIXTURES / "zh-en/strong.en").read_bytes()
