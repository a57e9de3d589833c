"""Metric parity: every number evalkit reports is the one sacrebleu computes, with its signature.

Expected values always come from calling sacrebleu (the Python API or the CLI) on the same text
in the same test run, never from numbers copied from an earlier run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit.corpus import TestSet
from evalkit.errors import ConfigError
from evalkit.metrics import METRIC_NAMES, make_metric, parse_metric_names

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SUITE = tomllib.loads((FIXTURES / "suite.toml").read_text(encoding="utf-8"))
TESTSETS = {t["name"]: t for t in SUITE["testsets"]}


def sacrebleu_metric(
    name: str,
    lang: str,
    *,
    tokenize: str | None = None,
    ter_plain: bool = False,
    sentence: bool = False,
) -> BLEU | CHRF | TER:
    """The sacrebleu object evalkit's contract says a metric must equal."""
    if name == "bleu":
        tok = tokenize or ("zh" if lang == "zh" else "13a")
        return BLEU(tokenize=tok, effective_order=sentence)
    if name == "chrf":
        return CHRF()
    if name == "chrf++":
        return CHRF(word_order=2)
    if lang == "zh" and not ter_plain:
        return TER(asian_support=True, normalized=True)
    return TER()


def assert_matches_sacrebleu(
    ts: TestSet, metrics=METRIC_NAMES, *, tokenize: str | None = None, ter_plain: bool = False
) -> None:
    """evaluate() with normalizer='none' == sacrebleu, corpus and segment level, every system."""
    res = evalkit.evaluate(
        ts,
        metrics,
        normalizer="none",
        tokenize=tokenize,
        ter_plain=ter_plain,
        stats=evalkit.StatsOptions(0, "none"),  # scores only: CIs would differ raw vs normalized
    )
    tr = res.testsets[0]
    refs = [list(stream) for stream in ts.refs]
    for system in tr.systems:
        hyps = list(ts.systems[system.name])
        for m in metrics:
            metric = sacrebleu_metric(m, ts.lang, tokenize=tokenize, ter_plain=ter_plain)
            expected = metric.corpus_score(hyps, refs).score
            where = f"{ts.name}/{system.name}/{m}"
            assert system.scores[m].score == expected, where
            assert system.scores[m].signature == str(metric.get_signature()), where
            assert system.raw_scores[m] == system.scores[m], where  # nothing to normalize
            seg_metric = sacrebleu_metric(
                m, ts.lang, tokenize=tokenize, ter_plain=ter_plain, sentence=True
            )
            expected_segments = tuple(
                seg_metric.sentence_score(h, [r[i] for r in refs]).score for i, h in enumerate(hyps)
            )
            assert tr.segment_data.scores[system.name][m] == expected_segments, where


# --- the bundled fixtures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "testset",
    [
        pytest.param("zh-en", id="zh-en"),  # why: English target, 13a, plain TER
        pytest.param("zh-en-multiref", id="zh-en-multiref"),  # why: two reference streams
        pytest.param("en-zh", id="en-zh"),  # why: Chinese target, zh tokenizer, asian TER
    ],
)
def test_every_fixture_system_scores_exactly_as_sacrebleu(testset: str) -> None:
    ts = evalkit.load_suite(FIXTURES / "suite.toml")
    spec = next(t for t in ts.testsets if t.name == testset)
    loaded = spec.load()
    assert loaded.system_names == tuple(TESTSETS[testset]["systems"])
    assert len(loaded.refs) == len(TESTSETS[testset]["refs"])
    assert_matches_sacrebleu(loaded)


def test_the_parametrized_fixture_test_sets_are_all_of_the_suite() -> None:
    # if a test set is added to fixtures/suite.toml, add it to the parity test above
    assert set(TESTSETS) == {"zh-en", "zh-en-multiref", "en-zh"}


# --- generated text ---------------------------------------------------------------------------

_ALPHABET = (
    "白宫指示暂停外国的人工智能模型中国开源需求软件芯片權限關於這個發布週期"  # CJK, both scripts
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # Latin
    "0123456789"  # digits
    ",.!?;:'\"()-/%$"  # ASCII punctuation
    "，。！？；：「」“”‘’（）、《》—…"  # full-width / CJK punctuation
    "ＡＢＣｘｙｚ１２３"  # full-width Latin and digits
    "   \u3000"  # spaces (ASCII, weighted up, and ideographic)
)
_segment = st.one_of(st.just(""), st.text(alphabet=_ALPHABET, max_size=30))


@st.composite
def mixed_text_testsets(draw: st.DrawFn) -> TestSet:
    n = draw(st.integers(1, 5))
    k = draw(st.integers(1, 3))
    lang = draw(st.sampled_from(["zh", "en"]))
    refs = tuple(tuple(draw(st.lists(_segment, min_size=n, max_size=n))) for _ in range(k))
    systems = {
        f"s{j}": tuple(draw(st.lists(_segment, min_size=n, max_size=n)))
        for j in range(draw(st.integers(1, 2)))
    }
    return TestSet(name="gen", lang=lang, refs=refs, systems=systems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text_testsets())
def test_generated_mixed_script_text_scores_exactly_as_sacrebleu(ts: TestSet) -> None:
    assert_matches_sacrebleu(ts)


@pytest.mark.parametrize(
    ("lang", "tokenize", "expected_tok"),
    [
        ("zh", None, "zh"),  # why: Chinese target defaults to sacrebleu's zh tokenizer
        ("en", None, "13a"),  # why: English target defaults to 13a (the WMT standard)
        ("zh", "char", "char"),  # why: an explicit tokenizer overrides the language default
        ("zh", "13a", "13a"),  # why: …even one that is poor for Chinese; the user asked for it
        ("en", "intl", "intl"),  # why: override on an English target
        ("en", "zh", "zh"),  # why: zh on English text is allowed (it splits only Han)
        ("zh", "none", "none"),  # why: pre-tokenized input
    ],
)
def test_bleu_tokenizer_follows_the_target_language_unless_overridden(
    lang: str, tokenize: str | None, expected_tok: str
) -> None:
    ts = TestSet(
        name="t",
        lang=lang,
        refs=(("白宫指示Anthropic暂停外国存取。", "The White House, 2027."),),
        systems={"s": ("白宫要求Anthropic暂停外国访问。", "The White House in 2027.")},
    )
    assert_matches_sacrebleu(ts, ["bleu"], tokenize=tokenize)
    res = evalkit.evaluate(ts, ["bleu"], normalizer="none", tokenize=tokenize)
    assert f"|tok:{expected_tok}|" in res.testsets[0].systems[0].scores["bleu"].signature


@pytest.mark.parametrize(
    ("lang", "ter_plain", "asian"),
    [
        ("zh", False, True),  # why: plain TER sees an unsegmented Chinese line as ~one token
        ("zh", True, False),  # why: --ter-plain reproduces sacrebleu's default TER on request
        ("en", False, False),  # why: English uses sacrebleu's default TER
        ("en", True, False),  # why: ter_plain changes nothing for English
    ],
)
def test_chinese_target_ter_uses_asian_support_and_normalization_unless_plain(
    lang: str, ter_plain: bool, asian: bool
) -> None:
    ts = TestSet(
        name="t",
        lang=lang,
        refs=(("特朗普政府以“国家安全考量”为由，要求批准。",),),
        systems={"s": ("川普政府以「国家安全疑虑」为由,要求核准。",)},
    )
    assert_matches_sacrebleu(ts, ["ter"], ter_plain=ter_plain)
    sig = evalkit.evaluate(ts, ["ter"], "none", ter_plain=ter_plain).testsets[0]
    sig = sig.systems[0].scores["ter"].signature
    yes = "yes" if asian else "no"
    assert f"|norm:{yes}|" in sig and f"|asian:{yes}|" in sig


def test_statistics_are_extracted_once_and_scored_as_sacrebleu_sums_them(fixtures_dir) -> None:
    refs = [(fixtures_dir / "article.zh").read_text("utf-8").splitlines()]
    hyps = (fixtures_dir / "en-zh" / "strong.zh").read_text("utf-8").splitlines()
    for name in METRIC_NAMES:
        spec = make_metric(name, "zh")
        stats = spec.extract_stats(hyps, refs)
        assert stats.shape[0] == len(hyps)  # N × d
        assert (
            spec.corpus_score(stats) == sacrebleu_metric(name, "zh").corpus_score(hyps, refs).score
        )
        assert spec.higher_is_better is (name != "ter")


# --- unknown names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        "bleu,meteor",  # why: a metric evalkit does not compute
        "BLEU,chrF,comet",  # why: case is forgiven for known names, not unknown ones
        ["bleu", "chrf+"],  # why: a typo of chrf++ must not silently become chrF
    ],
)
def test_an_unknown_metric_is_a_config_error_listing_the_valid_names(names) -> None:
    with pytest.raises(ConfigError) as info:
        parse_metric_names(names)
    assert "unknown metric" in str(info.value)
    assert all(m in str(info.value) for m in METRIC_NAMES)


def test_metric_names_are_case_insensitive_and_deduplicated() -> None:
    assert parse_metric_names(" BLEU, chrf ,bleu,,TER") == ("bleu", "chrf", "ter")


@pytest.mark.parametrize(
    "metrics",
    [
        ["bleu"],  # why: the tokenizer applies to BLEU
        ["chrf", "ter"],  # why: …but a typo must fail even when BLEU is not asked for
    ],
)
def test_an_unknown_tokenizer_is_a_config_error_listing_the_valid_names(metrics) -> None:
    ts = TestSet(name="t", lang="en", refs=(("a b",),), systems={"s": ("a b",)})
    with pytest.raises(ConfigError) as info:
        evalkit.evaluate(ts, metrics, normalizer="none", tokenize="13b")
    assert "unknown tokenizer '13b'" in str(info.value)
    assert all(tok in str(info.value) for tok in ("13a", "zh", "intl", "char"))


# --- the sacrebleu command line ---------------------------------------------------------------


def _sacrebleu_cli(
    cwd: Path, refs: list[str], hyps: list[str], lang: str, metrics: list[str]
) -> list[dict]:
    cmd = [sys.executable, "-m", "sacrebleu", *refs, "-i", *hyps, "-m", *metrics]
    if lang == "zh":
        cmd += ["--tokenize", "zh", "--ter-asian-support", "--ter-normalized"]
    else:
        cmd += ["--tokenize", "13a"]
    cmd += ["-f", "json", "-w", "4"]
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("testset", sorted(TESTSETS))
def test_scores_and_signatures_match_the_sacrebleu_cli(
    testset: str, fixtures_dir: Path, run_evalkit
) -> None:
    spec = TESTSETS[testset]
    refs = [f"--ref={r}" for r in spec["refs"]]
    systems = [f"{name}={path}" for name, path in spec["systems"].items()]
    proc = run_evalkit(
        "score",
        *refs,
        f"--lang={spec['lang']}",
        "--normalize=none",
        "--metrics=bleu,chrf,ter",
        "--format=json",
        *systems,
        cwd=fixtures_dir,
    )
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)["testsets"][0]
    assert ours["segments"] == 12
    assert [s["name"] for s in ours["systems"]] == list(spec["systems"])
    labels = {"bleu": "BLEU", "chrf": "chrF2", "ter": "TER"}
    paths = list(spec["systems"].values())

    # Every system, BLEU and chrF: sacrebleu prints one row of 4-decimal strings per system.
    rows = _sacrebleu_cli(fixtures_dir, spec["refs"], paths, spec["lang"], ["bleu", "chrf"])
    assert [row["system"] for row in rows] == paths
    for system, row in zip(ours["systems"], rows, strict=True):
        for metric in ("bleu", "chrf"):
            score = system["scores"][metric]["score"]
            assert f"{score:.4f}" == row[labels[metric]], f"{testset}/{system['name']}/{metric}"

    # The baseline, all three (TER on Chinese is slow; test_every_fixture_system_* covers the
    # rest through the API): sacrebleu prints full records with the signature, which is the
    # same for every system of a test set.
    single = _sacrebleu_cli(fixtures_dir, spec["refs"], paths[:1], spec["lang"], list(labels))
    single = {r["name"]: r for r in single}
    first = ours["systems"][0]["scores"]
    for metric, label in labels.items():
        assert float(f"{first[metric]['score']:.4f}") == single[label]["score"], metric
        for system in ours["systems"]:
            assert system["scores"][metric]["signature"] == single[label]["signature"]
