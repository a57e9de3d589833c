"""External segment metrics (issue 17): commands printing comet-score's formats and an LLM judge.

The command is ``fake_metric_scorer.py`` (deterministic, full-precision scores, comet-score's
stdout and --to_json formats); the judge is ``fake_openai_server.py``, a real HTTP server on
127.0.0.1 that answers with the upper-cased prompt, so a prompt of ``{translation}`` makes the
candidate's own digits the judge's score.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from fake_metric_scorer import score as fake_score
from fake_openai_server import FakeOpenAI

import evalkit
from evalkit.corpus import TestSet
from evalkit.errors import ConfigError, EvalkitError
from evalkit.evaluation import StatsOptions
from evalkit.plugins import (
    DEFAULT_JUDGE_PROMPT,
    CometPrecisionWarning,
    ExternalMetric,
    parse_metric_table,
)
from evalkit.results import Results

SCORER = Path(__file__).with_name("fake_metric_scorer.py")
REFS = ("the cat sat on the mat", "a dog ran home", "hello world", "good morning to you")
REFS2 = ("a cat sat on a mat", "the dog went home", "hi world", "good morning")
SOURCES = ("猫坐在垫子上", "狗跑回家", "你好世界", "早上好")
SYSTEMS = {
    "a": ("the cat sat on the mat", "dog ran home", "hi world", "good morning"),
    "b": ("cat mat", "a dog", "hello", "morning"),
}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, no_proxy: None) -> None:
    monkeypatch.delenv("FAKE_SCORER_FAULT", raising=False)


def _testset(refs: tuple[tuple[str, ...], ...] = (REFS,), sources: object = SOURCES) -> TestSet:
    return TestSet(name="t", lang="en", refs=refs, systems=dict(SYSTEMS), sources=sources)


def _command(tmp_path: Path, output: str = "comet-json", **kw: object) -> ExternalMetric:
    args = f"-s {{src}} -t {{hyp}} -r {{ref}} --calls {shlex.quote(str(tmp_path / 'calls'))}"
    if output == "comet-json":
        args += " --to_json {out}"
    elif output != "comet":
        args += f" --print {output}"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCORER))} {args}"
    base = {"name": "comet", "command": command, "output": output, "cache_dir": tmp_path / "c"}
    return ExternalMetric(**{**base, **kw})  # type: ignore[arg-type]


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def _expected(system: str, refs: tuple[tuple[str, ...], ...] = (REFS,)) -> np.ndarray:
    per_ref = [
        [fake_score(s, h, r) for s, h, r in zip(SOURCES, SYSTEMS[system], ref, strict=True)]
        for ref in refs
    ]
    return np.mean(per_ref, axis=0)


def test_corpus_score_is_the_mean_of_segment_scores_with_cis_and_paired_tests(tmp_path):
    res = evalkit.evaluate(_testset(), ["bleu", _command(tmp_path)], stats=StatsOptions(200))
    ts = res.testsets[0]
    for sr in ts.systems:
        want = _expected(sr.name)
        assert ts.segment_data.scores[sr.name]["comet"] == pytest.approx(tuple(want), abs=0)
        assert sr.scores["comet"].score == pytest.approx(float(np.mean(want)), rel=1e-12)
        low, high = sr.scores["comet"].ci
        assert low <= sr.scores["comet"].score <= high
    cmp_ = ts.systems[1].vs_baseline["comet"]
    assert cmp_.delta == pytest.approx(
        ts.systems[1].scores["comet"].score - ts.systems[0].scores["comet"].score
    )
    assert cmp_.p_value is not None and cmp_.test == "paired-bs"


def test_paired_ar_and_pairwise_matrix_work_on_external_scores(tmp_path):
    opts = StatsOptions(0, "ar", pairwise=True, ar_trials=500)
    ts = evalkit.evaluate(_testset(), [_command(tmp_path)], stats=opts).testsets[0]
    assert ts.pairwise["comet"]["b"]["a"].p_value is not None
    assert ts.pairwise["comet"]["b"]["a"].delta == pytest.approx(
        -ts.pairwise["comet"]["a"]["b"].delta
    )


def test_signature_records_kind_command_format_version_and_direction(tmp_path):
    metric = _command(tmp_path, version="wmt22-comet-da", higher_is_better=False)
    sig = evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none")).testsets[0]
    sig = sig.systems[0].scores["comet"].signature
    assert sig.startswith("kind:command|cmd:")
    assert "|out:comet-json|version:wmt22-comet-da|higher:no|nrefs:1" in sig


def test_second_run_calls_nothing_and_changed_segments_only_are_scored(tmp_path):
    metric = _command(tmp_path)
    first = evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none"))
    assert _calls(tmp_path) == ["run 8"]  # both systems in one process
    again = evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none"))
    assert _calls(tmp_path) == ["run 8"]
    assert again.testsets[0].systems[0].scores == first.testsets[0].systems[0].scores
    changed = _testset()
    changed = TestSet(
        "t", "en", (REFS,), {**SYSTEMS, "b": ("cat mat", "a dog", "hello", "new")}, SOURCES
    )
    evalkit.evaluate(changed, [metric], stats=StatsOptions(0, "none"))
    assert _calls(tmp_path) == ["run 8", "run 1"]


def test_finished_batches_survive_a_failure_later_in_the_run(tmp_path, monkeypatch):
    metric = _command(tmp_path, batch_size=4)
    evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none"))
    assert _calls(tmp_path) == ["run 4", "run 4"]
    records = (tmp_path / "c").glob("*.jsonl")
    assert sum(len(p.read_text().splitlines()) for p in records) == 1 + 8  # header + segments


def test_several_references_are_scored_one_call_each_and_averaged(tmp_path):
    refs = (REFS, REFS2)
    ts = evalkit.evaluate(_testset(refs), [_command(tmp_path)], stats=StatsOptions(0, "none"))
    got = ts.testsets[0].segment_data.scores["a"]["comet"]
    assert got == pytest.approx(tuple(_expected("a", refs)))
    assert "|nrefs:2|refs:mean" in ts.testsets[0].systems[0].scores["comet"].signature


@pytest.mark.parametrize("output", ["lines", "jsonl", "comet"])
def test_every_output_format_gives_the_same_segment_scores(tmp_path, output):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CometPrecisionWarning)
        metric = _command(tmp_path, output)
    got = evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none"))
    places = 4 if output == "comet" else 12
    want = _expected("b")
    assert got.testsets[0].segment_data.scores["b"]["comet"] == pytest.approx(
        tuple(want), abs=10**-places
    )


def test_choosing_the_comet_stdout_format_warns_about_its_four_decimals(tmp_path):
    with pytest.warns(CometPrecisionWarning, match="only 4 decimals"):
        parse_metric_table("c", {"command": "s {hyp}", "output": "comet"}, suite_path=tmp_path)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "exit",
            r"metric 'comet': command .* exited with status 3: RuntimeError: CUDA out of memory",
        ),
        ("fewer", r"metric 'comet': .* gave 7 scores for 8 segments"),
        ("more", r"metric 'comet': .* gave 9 scores for 8 segments"),
        ("word", r"metric 'comet': .* output line 2 is not a finite number: 'oops'"),
    ],
)
def test_a_misbehaving_command_is_one_error_naming_the_metric(
    tmp_path, monkeypatch, fault, message
):
    monkeypatch.setenv("FAKE_SCORER_FAULT", fault)
    with pytest.raises(EvalkitError, match=message):
        evalkit.evaluate(_testset(), [_command(tmp_path, "lines")], stats=StatsOptions(0, "none"))


def test_a_command_past_its_timeout_is_killed_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SCORER_FAULT", "sleep")
    metric = _command(tmp_path, "lines", timeout=0.5)
    with pytest.raises(EvalkitError, match=r"metric 'comet': .* did not finish within 0.5 s"):
        evalkit.evaluate(_testset(), [metric], stats=StatsOptions(0, "none"))


def test_unknown_placeholder_and_missing_sources_are_errors(tmp_path):
    suite = tmp_path / "suite.toml"
    with pytest.raises(ConfigError, match=r"metric 'comet': unknown placeholder \{sys\}"):
        parse_metric_table("comet", {"command": "score {sys} {hyp}"}, suite_path=suite)
    with pytest.raises(ConfigError, match=r"metric 'comet': uses the source .* has no sources"):
        evalkit.evaluate(
            _testset(sources=None), [_command(tmp_path)], stats=StatsOptions(0, "none")
        )


def test_comet_json_without_an_out_file_is_refused(tmp_path):
    table = {"command": "comet-score -t {hyp}", "output": "comet-json"}
    with pytest.raises(ConfigError, match=r"reads the \{out\} file"):
        parse_metric_table("comet", table, suite_path=tmp_path / "s.toml")


def test_results_with_external_metrics_round_trip_through_json(tmp_path):
    res = evalkit.evaluate(_testset(), ["chrf", _command(tmp_path)], stats=StatsOptions(100))
    back = Results.from_json(res.to_json())
    assert back.testsets[0].metrics == ("chrf", "comet")
    assert back.testsets[0].systems[1].scores["comet"] == res.testsets[0].systems[1].scores["comet"]


# --- the LLM judge ---------------------------------------------------------------------------


def _judge(server: FakeOpenAI, tmp_path: Path, **kw: object) -> ExternalMetric:
    table = {"endpoint": server.url, "model": "judge-1", "backoff": 0.01, "timeout": 5, **kw}
    metric = parse_metric_table("judge", table, suite_path=tmp_path / "suite.toml")
    return dataclasses.replace(metric, cache_dir=tmp_path / "jc")


def test_judge_scores_are_the_first_number_of_each_answer_and_cached(tmp_path):
    ts = TestSet(
        "t", "en", (("r1", "r2"),), {"a": ("score 70 ok", "90"), "b": ("x 10.5 y 3", "40")}
    )
    with FakeOpenAI() as server:
        metric = _judge(server, tmp_path, prompt="{translation}")
        res = evalkit.evaluate(ts, [metric], stats=StatsOptions(100))
        assert len(server.requests) == 4
        evalkit.evaluate(ts, [metric], stats=StatsOptions(100))
        assert len(server.requests) == 4  # the second run asked nothing
    out = res.testsets[0]
    assert out.segment_data.scores["a"]["judge"] == (70.0, 90.0)
    assert out.systems[1].scores["judge"].score == pytest.approx((10.5 + 40) / 2)
    assert out.systems[1].vs_baseline["judge"].p_value is not None


def test_default_judge_prompt_is_gemba_da_with_languages_reference_and_translation(tmp_path):
    ts = TestSet("t", "en", (("the cat",),), {"a": ("a cat",)}, sources=("猫",))
    with FakeOpenAI() as server:
        evalkit.evaluate(ts, [_judge(server, tmp_path)], stats=StatsOptions(0, "none"))
        (message,) = server.user_messages()
    assert "from Chinese to English" in message and "0 to 100" in message
    assert 'human reference: "the cat"' in message and 'translation: "a cat"' in message
    assert message == DEFAULT_JUDGE_PROMPT.format(
        source_lang="Chinese",
        target_lang="English",
        source="猫",
        reference="the cat",
        translation="a cat",
    )


def test_judge_answer_without_a_score_after_retries_names_the_segment(tmp_path):
    ts = TestSet("t", "en", (("r1", "r2"),), {"a": ("70", "no digits here")})
    with FakeOpenAI() as server:
        metric = _judge(server, tmp_path, prompt="{translation}", retries=2)
        with pytest.raises(
            EvalkitError, match=r"metric 'judge': segment 2: no score .* after 3 attempts"
        ):
            evalkit.evaluate(ts, [metric], stats=StatsOptions(0, "none"))


def test_judge_key_is_sent_but_never_written(tmp_path, monkeypatch):
    secret = "sk-judge-secret-123"
    monkeypatch.setenv("JUDGE_KEY", secret)
    ts = TestSet("t", "en", (("r1",),), {"a": ("55",)})
    with FakeOpenAI() as server:
        metric = _judge(server, tmp_path, prompt="{translation}", api_key_env="JUDGE_KEY")
        res = evalkit.evaluate(ts, [metric], stats=StatsOptions(0, "none"))
        assert server.requests[0]["headers"]["Authorization"] == f"Bearer {secret}"
    assert secret not in res.to_json()
    assert all(secret not in p.read_text() for p in (tmp_path / "jc").glob("*"))


# --- suites and the command line -------------------------------------------------------------


def _files(tmp_path: Path) -> None:
    (tmp_path / "ref.txt").write_text("".join(r + "\n" for r in REFS), encoding="utf-8")
    (tmp_path / "src.txt").write_text("".join(s + "\n" for s in SOURCES), encoding="utf-8")
    for name, lines in SYSTEMS.items():
        (tmp_path / f"{name}.txt").write_text("".join(x + "\n" for x in lines), encoding="utf-8")


def test_score_metric_command_scores_beside_builtin_metrics(tmp_path, run_evalkit):
    _files(tmp_path)
    scorer = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCORER))}"
    command = f"comet:comet-json={scorer} -s {{src}} -t {{hyp}} -r {{ref}} --to_json {{out}}"
    proc = run_evalkit(
        "score",
        "--ref",
        "ref.txt",
        "--src",
        "src.txt",
        "--metrics",
        "bleu,comet",
        "--metric-command",
        command,
        "--format",
        "json",
        "a.txt",
        "b.txt",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    ts = doc["testsets"][0]
    assert ts["metrics"] == ["bleu", "comet"]
    assert ts["systems"][0]["scores"]["comet"]["score"] == pytest.approx(
        float(np.mean(_expected("a")))
    )


def test_score_metric_command_failure_is_exit_2_with_one_line(tmp_path, run_evalkit, monkeypatch):
    _files(tmp_path)
    monkeypatch.setenv("FAKE_SCORER_FAULT", "fewer")
    command = (
        f"comet={shlex.quote(sys.executable)} {shlex.quote(str(SCORER))} -t {{hyp}} --print lines"
    )
    proc = run_evalkit(
        "score",
        "--ref",
        "ref.txt",
        "--metric-command",
        command,
        "a.txt",
        "b.txt",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "metric 'comet'" in proc.stderr and "gave 7 scores for 8 segments" in proc.stderr


def test_suite_declares_a_metric_table_that_run_and_gate_use(tmp_path, run_evalkit):
    _files(tmp_path)
    args = "-s {src} -t {hyp} -r {ref} --to_json {out} --calls calls"
    command = f"{sys.executable} {SCORER} {args}"
    (tmp_path / "suite.toml").write_text(
        f"""
[suite]
name = "s"
metrics = ["chrf", "comet"]
output = "out"
[metrics.comet]
command = {json.dumps(command)}
output = "comet-json"
version = "fake-1"
[[testsets]]
name = "t"
lang = "en"
source = "src.txt"
refs = ["ref.txt"]
systems = {{ a = "a.txt", b = "b.txt" }}
baseline = "a"
[[gate.rules]]
metric = "comet"
min = 0.1
""",
        encoding="utf-8",
    )
    proc = run_evalkit("run", "suite.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "metric-scores").is_dir()
    assert (tmp_path / "calls").read_text().splitlines() == ["run 8"]
    base = run_evalkit("baseline", "suite.toml", "--write", "base.json", cwd=tmp_path)
    assert base.returncode == 0, base.stderr
    gate = run_evalkit("gate", "suite.toml", "--baseline", "base.json", cwd=tmp_path)
    assert gate.returncode == 0, gate.stderr
    assert "comet" in gate.stdout
    assert (tmp_path / "calls").read_text().splitlines() == ["run 8"]  # served from the cache


def test_a_metric_table_sets_one_kind_and_only_its_keys(tmp_path: Path) -> None:
    suite = tmp_path / "s.toml"
    with pytest.raises(ConfigError, match="exactly one of 'command'"):
        parse_metric_table("m", {"command": "s {hyp}", "endpoint": "http://h/v1"}, suite_path=suite)
    with pytest.raises(ConfigError, match="key 'model' applies only to LLM-judge metrics"):
        parse_metric_table("m", {"command": "s {hyp}", "model": "x"}, suite_path=suite)
    with pytest.raises(ConfigError, match="unknown key 'batchsize'; allowed: "):
        parse_metric_table("m", {"command": "s {hyp}", "batchsize": 2}, suite_path=suite)
