"""NORMALIZE: symmetric, idempotent (where OpenCC is), never silent; `auto` follows the reference.

Expected conversions come from calling the official OpenCC binding directly.
"""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit.corpus import TestSet
from evalkit.detect import lines_with
from evalkit.errors import ConfigError
from evalkit.normalize import Normalizer, resolve_normalizer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CONFIGS = ["t2s", "s2t", "tw2sp", "s2twp", "hk2s"]


def cc(config: str, text: str) -> str:
    return opencc.OpenCC(config).convert(text)


def read(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def sacrebleu_scores(hyps: list[str], refs: list[list[str]], lang: str = "zh") -> dict[str, float]:
    ter = TER(asian_support=True, normalized=True) if lang == "zh" else TER()
    tok = "zh" if lang == "zh" else "13a"
    metrics = {"bleu": BLEU(tokenize=tok), "chrf": CHRF(), "chrf++": CHRF(word_order=2), "ter": ter}
    return {name: m.corpus_score(hyps, refs).score for name, m in metrics.items()}


# Mixed text: both scripts, Taiwan/mainland vocabulary, Latin, digits, every punctuation family.
_ALPHABET = (
    "白宫宮指示暂暫停外国國的人工智能慧模型软軟件體芯晶片程式序檔案文网網络路数數据據发發布"
    "后後里裏干乾台臺面麵发髮才纔只隻"
    "abcXYZ019 "
    ",.:;!?()\"'"
    "，。：；！？（）「」『』“”‘’、《》\u3000"
    "ＡＢ１２"
)
_text = st.text(alphabet=_ALPHABET, max_size=40)


# --- idempotency ------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=_text, punct=st.booleans())
def test_normalizing_twice_changes_nothing_wherever_opencc_is_idempotent(
    config: str, text: str, punct: bool
) -> None:
    once_cc = cc(config, text)
    assume(cc(config, once_cc) == once_cc)  # OpenCC's own exceptions are documented below
    n = Normalizer(config, punct=punct, width=punct)
    assert n(n(text)) == n(text)


@settings(max_examples=60, deadline=None)
@given(text=_text)
def test_punctuation_and_width_folding_alone_are_idempotent(text: str) -> None:
    n = Normalizer(None, punct=True, width=True)
    assert n(n(text)) == n(text)


# OpenCC is not idempotent for these inputs: converting its own output converts it again.
SCRIPT_CHAINS = [
    # why: a character chain in OpenCC's tables: 薴 → 苧 → 苎
    pytest.param("t2s", "薴", id="t2s-char-chain"),
    # why: the same chain through the Hong Kong config
    pytest.param("hk2s", "薴", id="hk2s-char-chain"),
    # why: the chain backwards: 苎 → 苧 → 薴
    pytest.param("s2t", "苎", id="s2t-char-chain"),
    # why: phrase 核准 → 覈准, then the character 准 → 準 (fixtures/en-zh/taiwan.zh line 3)
    pytest.param("s2t", "核准", id="s2t-phrase-then-char"),
]
VOCABULARY_CHAINS = [
    # why: Taiwan 程式 (program) → 程序, which in Taiwan usage means "process" → 进程
    #      (fixtures/article.zh line 5 has 程式)
    pytest.param("tw2sp", "程式", "程序", id="tw2sp-program-becomes-process"),
    # why: Taiwan 檔案 (file) → 文件, which in Taiwan usage means "document" → 文档
    #      (fixtures/article.zh line 7 has 档案)
    pytest.param("tw2sp", "檔案", "文件", id="tw2sp-file-becomes-document"),
    # why: 麼 → 么 → 幺 in the Taiwan-to-Simplified character tables
    pytest.param("tw2sp", "麼", "么", id="tw2sp-char-chain"),
    # why: the chain backwards: 幺 → 么 → 麼
    pytest.param("s2twp", "幺", "么", id="s2twp-char-chain"),
]


@pytest.mark.parametrize(
    ("config", "text"),
    SCRIPT_CHAINS
    + [pytest.param(c, t, id=p.id) for p in VOCABULARY_CHAINS for c, t, _ in [p.values]],
)
def test_opencc_itself_is_not_idempotent_on_these_inputs(config: str, text: str) -> None:
    # Documents upstream behaviour (opencc binding as installed). If this starts failing,
    # OpenCC changed: drop the row here.
    once = cc(config, text)
    assert once != text
    assert cc(config, once) != once


@pytest.mark.parametrize(("config", "text"), SCRIPT_CHAINS)
def test_script_normalization_is_idempotent_even_where_opencc_is_not(
    config: str, text: str
) -> None:
    n = Normalizer(config)
    assert n(n(text)) == n(text)


@pytest.mark.parametrize(("config", "text", "once"), VOCABULARY_CHAINS)
def test_vocabulary_configs_convert_exactly_once_so_meaning_survives(
    config: str, text: str, once: str
) -> None:
    # Repeating a vocabulary config would turn "program" into "process": applied once, by design.
    assert Normalizer(config)(text) == once


# --- blocks of lines --------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["t2s", "tw2sp"])
@settings(max_examples=30, deadline=None)
@given(lines=st.lists(_text, max_size=6), punct=st.booleans())
def test_normalizing_a_block_equals_normalizing_each_line_and_flags_what_changed(
    config: str, lines: list[str], punct: bool
) -> None:
    n = Normalizer(config, punct=punct)
    out = n.apply(lines)
    expected = tuple(n(line) for line in lines)
    assert out.lines == expected  # one OpenCC call per block never joins or splits lines
    assert out.changed == tuple(a != b for a, b in zip(lines, expected, strict=True))
    assert out.n_changed == sum(out.changed)


def test_the_identity_normalizer_changes_nothing() -> None:
    lines = ["白宮「指示」，ＡＢ", ""]
    out = Normalizer().apply(lines)
    assert Normalizer().is_identity
    assert out.lines == tuple(lines) and out.changed == (False, False)


# --- symmetry: the same Normalizer for references and candidates -----------------------------


@settings(max_examples=25, deadline=None)
@given(
    refs=st.lists(_text, min_size=1, max_size=4),
    hyps=st.lists(_text, min_size=1, max_size=4),
    config=st.sampled_from(CONFIGS),
    punct=st.booleans(),
)
def test_references_and_candidates_are_normalized_alike_then_scored_by_sacrebleu(
    refs: list[str], hyps: list[str], config: str, punct: bool
) -> None:
    n = min(len(refs), len(hyps))
    refs, hyps = refs[:n], hyps[:n]
    ts = TestSet(name="t", lang="zh", refs=(tuple(refs),), systems={"s": tuple(hyps)})
    res = evalkit.evaluate(ts, ["bleu", "chrf", "ter"], normalizer=config, punct=punct)
    tr = res.testsets[0]
    norm = Normalizer(config, punct=punct, width=punct)
    expected = sacrebleu_scores([norm(h) for h in hyps], [[norm(r) for r in refs]])
    raw = sacrebleu_scores(hyps, [refs])
    system = tr.systems[0]
    for m in ("bleu", "chrf", "ter"):
        assert system.scores[m].score == expected[m]
        assert system.raw_scores[m].score == raw[m]
    assert tr.segment_data.changed["s"] == tuple(norm(h) != h for h in hyps)
    assert tr.segment_data.ref_changed == tuple(norm(r) != r for r in refs)
    assert tr.normalization["config"] == config and tr.normalization["punct"] is punct


def test_the_traditional_twin_scores_the_same_after_normalization_and_lower_before() -> None:
    strong = read("en-zh/strong.zh")
    twin = [cc("s2t", line) for line in strong]
    # precondition: the twin really is the same text in the other script, and it round-trips
    assert twin != strong
    assert [cc("t2s", line) for line in twin] == strong
    ts = TestSet(
        name="twin",
        lang="zh",
        refs=(tuple(read("article.zh")),),
        systems={"strong": tuple(strong), "twin": tuple(twin)},
    )
    tr = evalkit.evaluate(ts, ["bleu", "chrf", "chrf++", "ter"], normalizer="auto").testsets[0]
    assert tr.normalization["config"] == "t2s"  # article.zh is Simplified
    s, t = tr.system("strong"), tr.system("twin")
    for m in ("bleu", "chrf", "chrf++", "ter"):
        assert t.scores[m] == s.scores[m], m
        worse = (lambda a, b: a > b) if m == "ter" else (lambda a, b: a < b)
        assert worse(t.raw_scores[m].score, s.raw_scores[m].score), m
    assert t.changed_segments == 12 and s.changed_segments == 0


# --- auto -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref_lines", "lang", "expected"),
    [
        # why: the bundled Chinese reference is Simplified (with Taiwan vocabulary)
        pytest.param(read("article.zh"), "zh", "t2s", id="simplified-ref"),
        # why: a Traditional reference pulls candidates to Traditional
        pytest.param([cc("s2t", x) for x in read("article.zh")], "zh", "s2t", id="trad-ref"),
        # why: Traditional with Taiwan vocabulary is still Traditional
        pytest.param(read("en-zh/taiwan.zh"), "zh", "s2t", id="taiwan-ref"),
        # why: no script-specific character at all: default to Simplified
        pytest.param(["人工智能模型"], "zh", "t2s", id="neutral-ref"),
        # why: an English target is never script-converted
        pytest.param(read("article.en"), "en", "none", id="english-target"),
    ],
)
def test_auto_converts_to_the_reference_script_and_leaves_english_alone(
    ref_lines: list[str], lang: str, expected: str
) -> None:
    ts = TestSet(name="t", lang=lang, refs=(tuple(ref_lines),), systems={"s": tuple(ref_lines)})
    tr = evalkit.evaluate(ts, ["chrf"], normalizer="auto").testsets[0]
    assert tr.normalization["config"] == expected


@pytest.mark.parametrize(
    ("verdict", "lang", "expected"),
    [
        ("simplified", "zh", "t2s"),  # why: convert to the reference's script
        ("traditional", "zh", "s2t"),  # why: same, the other way
        ("mixed", "zh", "t2s"),  # why: no clear script: Simplified, the common case
        ("traditional", "en", None),  # why: English target: no script conversion
    ],
)
def test_resolve_auto_from_the_reference_verdict(verdict, lang, expected) -> None:
    assert resolve_normalizer("auto", lang=lang, reference_script=verdict).script == expected


# --- unknown configs --------------------------------------------------------------------------

VALID = sorted(c.removesuffix(".json") for c in opencc.CONFIGS)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: Normalizer("t2x"), id="Normalizer"),
        pytest.param(lambda: resolve_normalizer("zh-hant", lang="zh"), id="resolve"),
        pytest.param(
            lambda: evalkit.evaluate(
                TestSet(name="t", lang="zh", refs=(("中",),), systems={"s": ("中",)}),
                ["bleu"],
                normalizer="s2tt",
            ),
            id="evaluate",
        ),
    ],
)
def test_an_unknown_opencc_config_is_a_config_error_listing_valid_names(build) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    msg = str(info.value)
    assert "unknown OpenCC config" in msg
    assert all(name in msg for name in [*VALID, "none", "auto"])


@pytest.mark.parametrize(
    ("spec", "script"),
    [("T2S", "t2s"), ("t2s.json", "t2s"), (" none ", None), ("", None), (None, None)],
)
def test_config_names_are_forgiving_about_case_suffix_and_blanks(spec, script) -> None:
    assert resolve_normalizer(spec, lang="zh").script == script


# --- punctuation and width folding ------------------------------------------------------------

PUNCT_CASES = [
    # why: corner brackets (Taiwan/HK and the fixtures' reference) vs curly quotes (mainland)
    ("「国家安全」", '"国家安全"'),
    ("“国家安全”", '"国家安全"'),
    ("『引』", '"引"'),
    ("＂x＂", '"x"'),
    # why: single quotes of every style
    ("‘x’", "'x'"),
    # why: full-width comma vs the half-width comma in fixtures/article.zh
    ("一，二", "一,二"),
    ("一,二", "一,二"),
    # why: the rest of the full-width ASCII punctuation block
    ("：；！？（）", ":;!?()"),
    # why: the ideographic space
    ("a\u3000b", "a b"),
    # why: Chinese-only marks without an ASCII twin stay as they are
    ("。、《》", "。、《》"),
    # why: width folding (follows --punct) maps full-width letters and digits to ASCII
    ("ＧＬＭ－５", "GLM-5"),
]


@pytest.mark.parametrize(("text", "folded"), PUNCT_CASES)
def test_punct_folds_each_family_of_variants_to_one_form(text: str, folded: str) -> None:
    n = resolve_normalizer("none", lang="zh", punct=True)
    assert n(text) == folded


def test_punct_makes_a_candidate_differing_only_in_punctuation_score_like_the_reference() -> None:
    ref = read("article.zh")  # half-width , : ; ( ) and 「」 quotes
    table = str.maketrans(
        {"「": "“", "」": "”", ",": "，", ":": "：", ";": "；", "(": "（", ")": "）"}
    )
    hyp = [line.translate(table) for line in ref]
    n = Normalizer(None, punct=True, width=True)
    assert hyp != ref and [n(h) for h in hyp] == [n(r) for r in ref]  # precondition
    ts = TestSet(name="p", lang="zh", refs=(tuple(ref),), systems={"s": tuple(hyp)})
    folded = evalkit.evaluate(ts, ["bleu", "chrf", "ter"], "none", punct=True).testsets[0]
    plain = evalkit.evaluate(ts, ["bleu", "chrf", "ter"], "none").testsets[0]
    perfect = sacrebleu_scores(ref, [ref])
    raw = sacrebleu_scores(hyp, [ref])
    for m in ("bleu", "chrf", "ter"):
        assert folded.systems[0].scores[m].score == perfect[m]
        assert plain.systems[0].scores[m].score == raw[m] == folded.systems[0].raw_scores[m].score
    assert raw["bleu"] < perfect["bleu"]
    assert folded.normalization["punct"] is True


# --- auto converts only segments not already in the target script -----------------------------

# Simplified text t2s is not the identity on: the phrase 坏布 (a Traditional spelling of 坯布).
SIMPLIFIED_T2S_CHANGES = "这块坏布不能用了。"
SIMPLIFIED = ["这块坏布不能用了。", "结果取决于天气。", "人工智能模型"]


def test_auto_leaves_simplified_segments_byte_identical_where_t2s_would_change_them() -> None:
    assert cc("t2s", SIMPLIFIED_T2S_CHANGES) != SIMPLIFIED_T2S_CHANGES  # precondition: 坏布→坯布
    auto = resolve_normalizer("auto", lang="zh", reference_script="simplified")
    out = auto.apply(SIMPLIFIED)
    assert out.lines == tuple(SIMPLIFIED)
    assert out.changed == out.converted == (False, False, False)
    assert [auto(line) for line in SIMPLIFIED] == SIMPLIFIED


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # why: one Traditional-only character (於) in Simplified text makes the segment convert
        ("结果取决於天气。", "结果取决于天气。"),
        # why: a wholly Traditional segment converts, and its Simplified result is not run
        # through t2s again (a second pass would turn 坏布 into 坯布)
        ("這塊壞布不能用了。", "这块坏布不能用了。"),
        # why: a converted segment is converted to OpenCC's fixed point, like an explicit t2s
        ("取決於", "取决于"),
    ],
)
def test_auto_converts_a_segment_holding_a_traditional_only_character(
    line: str, expected: str
) -> None:
    auto = resolve_normalizer("auto", lang="zh", reference_script="simplified")
    out = auto.apply([*SIMPLIFIED, line])
    assert out.lines == (*SIMPLIFIED, expected)
    assert out.converted == out.changed == (False, False, False, True)
    assert out.n_converted == 1


def test_auto_for_a_traditional_reference_converts_only_segments_with_simplified_characters():
    trad = ["這塊壞布不能用了。", "人工智能模型"]
    auto = resolve_normalizer("auto", lang="zh", reference_script="traditional")
    out = auto.apply([*trad, "这块坏布"])
    assert out.lines == (*trad, cc("s2t", "这块坏布"))
    assert out.converted == (False, False, True)


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(_text, max_size=6),
    punct=st.booleans(),
    target=st.sampled_from(["simplified", "traditional"]),
)
def test_auto_is_idempotent_and_leaves_lines_without_other_script_characters_alone(
    lines: list[str], punct: bool, target: str
) -> None:
    auto = resolve_normalizer("auto", lang="zh", reference_script=target, punct=punct)
    once = auto.apply(lines)
    assert auto.apply(once.lines).lines == once.lines
    other = "traditional" if target == "simplified" else "simplified"
    plain = Normalizer(None, punct, punct)
    for line, out, flag in zip(lines, once.lines, lines_with(lines, other), strict=True):
        if not flag:
            assert out == plain(line)


def test_an_explicit_config_still_converts_every_segment() -> None:
    out = resolve_normalizer("t2s", lang="zh").apply(SIMPLIFIED)
    assert out.lines[0] == cc("t2s", SIMPLIFIED_T2S_CHANGES) != SIMPLIFIED[0]
    assert out.converted == (True, False, False)  # converted = the conversion changed it


def test_punct_folds_every_segment_while_auto_converts_only_traditional_ones() -> None:
    auto = resolve_normalizer("auto", lang="zh", reference_script="simplified", punct=True)
    out = auto.apply(["坏布，好布", "壞布，好布"])
    assert out.lines == ("坏布,好布", cc("t2s", "壞布") + ",好布")
    assert out.changed == (True, True) and out.converted == (False, True)


def test_auto_has_its_own_signature_so_caches_and_baselines_never_mix_it_with_t2s() -> None:
    auto = resolve_normalizer("auto", lang="zh", reference_script="simplified")
    assert auto.describe() == "opencc:t2s-if-traditional|punct:no|width:no"
    assert auto.describe() != Normalizer("t2s").describe()
    assert resolve_normalizer("auto", lang="zh", reference_script="traditional").as_dict() == {
        "config": "s2t",
        "punct": False,
        "width": False,
        "only_segments_with": "simplified",
    }


@pytest.mark.parametrize(
    "normalizer",
    [
        Normalizer("t2s", only_other_script=True),
        Normalizer("s2t", punct=True, width=True, only_other_script=True),
        Normalizer("t2s"),
        Normalizer("tw2sp", punct=True),
        Normalizer(),
    ],
)
def test_a_results_normalization_record_rebuilds_the_normalizer_it_describes(normalizer) -> None:
    assert Normalizer.from_dict(normalizer.as_dict()) == normalizer


def test_only_other_script_needs_a_script_config() -> None:
    with pytest.raises(ConfigError, match="needs t2s or s2t"):
        Normalizer("tw2sp", only_other_script=True)


def test_auto_scores_an_all_simplified_set_exactly_as_sacrebleu_and_counts_each_side() -> None:
    ref = ["这块坏布不能用了。", "结果取决于天气。", "模型发布了。"]
    hyps = {
        "simplified": ("这块坏布不能用。", "结果取决于天气", "模型发布了"),
        "traditional": ("這塊壞布不能用。", "結果取決於天氣", "模型發布了"),
    }
    ts = TestSet(name="t", lang="zh", refs=(tuple(ref),), systems=hyps)
    tr = evalkit.evaluate(ts, ["bleu", "chrf", "ter"]).testsets[0]
    simp, trad = tr.system("simplified"), tr.system("traditional")
    raw = sacrebleu_scores(list(hyps["simplified"]), [ref])
    for m in ("bleu", "chrf", "ter"):
        assert simp.scores[m].score == simp.raw_scores[m].score == raw[m], m
    assert trad.scores["bleu"].score > trad.raw_scores["bleu"].score  # still converted
    assert tr.segment_data.ref_changed == (False, False, False)
    assert tr.segment_data.changed == {
        "simplified": (False, False, False),
        "traditional": (True, True, True),
    }
    assert tr.normalization["ref_changed_segments"] == 0
    assert tr.normalization["ref_converted_segments"] == 0
    assert tr.normalization["converted_segments"] == {"simplified": 0, "traditional": 3}
    assert tr.normalization["config"] == "t2s"  # the existing field keeps its meaning


@pytest.mark.parametrize(
    ("spec", "wording"),
    [
        ("auto", "normalization converted 12 of its segments, so the normalized scores hide this"),
        ("none", "normalization converted none of its segments, so the scores count it"),
    ],
)
def test_the_wrong_script_warning_says_whether_normalization_converted_the_system(
    spec: str, wording: str
) -> None:
    ts = TestSet(
        name="w",
        lang="zh",
        refs=(tuple(read("article.zh")),),
        systems={"traditional": tuple(read("en-zh/traditional.zh"))},
    )
    warnings = evalkit.evaluate(ts, ["bleu"], spec).testsets[0].systems[0].warnings
    assert warnings == (
        f"wrong script: output is traditional, the reference is simplified ({wording})",
    )
    assert not any("hides" in w for w in warnings) or spec != "none"


def test_the_seed_article_traditional_and_taiwan_systems_still_jump_when_normalized(
    fixtures_dir: Path,
) -> None:
    suite = evalkit.load_suite(fixtures_dir / "suite.toml")
    spec = next(t for t in suite.testsets if t.name == "en-zh")
    tr = suite.evaluate([spec.load()]).testsets[0]
    assert tr.normalization["requested"] == "auto"
    for name in ("traditional", "taiwan"):
        s = tr.system(name)
        assert s.changed_segments == tr.normalization["converted_segments"][name] == 12
        assert s.scores["bleu"].score > s.raw_scores["bleu"].score + 15, name
        assert s.scores["ter"].score < s.raw_scores["ter"].score - 15, name
    strong = tr.system("strong")
    assert strong.changed_segments == 0
    assert {m: v.score for m, v in strong.scores.items()} == {
        m: v.score for m, v in strong.raw_scores.items()
    }
    assert tr.normalization["ref_converted_segments"] == 0
