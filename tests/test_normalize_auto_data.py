"""``--normalize auto`` on real data: with no flags, an all-Simplified WMT22 test set scores
exactly as sacrebleu does, Traditional twins are still converted, and the streamed path makes
the same per-segment decisions as the in-memory one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit.corpus import TestSet
from evalkit.normalize import Normalizer
from evalkit.streaming import score_files

WMT22 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22" / "en-zh"
needs_wmt22 = pytest.mark.skipif(not WMT22.is_dir(), reason="needs ../shared/data/wmt22")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def wmt22() -> evalkit.TestSet:
    systems = {p.stem: str(p) for p in sorted((WMT22 / "systems").glob("*.zh"))}
    return evalkit.load_testset(str(WMT22 / "ref.zh"), systems)


@pytest.mark.shared_data
@needs_wmt22
def test_defaults_on_wmt22_en_zh_equal_sacrebleu_where_no_segment_is_converted(
    wmt22: evalkit.TestSet,
) -> None:
    # Default normalization; TER (evalkit's takes about a minute for 13 systems on this busy
    # machine) is proven below on a slice, and here by the statistics being the raw ones.
    tr = evalkit.evaluate(wmt22, ["bleu", "chrf", "chrf++"]).testsets[0]
    norm = tr.normalization
    assert norm["requested"] == "auto" and norm["config"] == "t2s"
    # The Simplified reference keeps every byte (t2s alone would change its 坏布 line).
    assert norm["ref_converted_segments"] == norm["ref_changed_segments"] == 0
    assert not any(tr.segment_data.ref_changed)
    assert len(tr.systems) == 13
    refs = [list(wmt22.refs[0])]
    metrics = {
        "bleu": BLEU(tokenize="zh", references=refs),
        "chrf": CHRF(references=refs),
        "chrf++": CHRF(word_order=2, references=refs),
    }
    converted = {}
    for s in tr.systems:
        flags = tr.segment_data.changed[s.name]
        assert sum(flags) == s.changed_segments == norm["converted_segments"][s.name]
        hyps = list(wmt22.systems[s.name])
        normalized = [Normalizer("t2s")(h) if f else h for h, f in zip(hyps, flags, strict=True)]
        if any(flags):
            converted[s.name] = sum(flags)
        else:  # nothing converted on either side: the normalized statistics are the raw ones
            assert _values(s.scores) == _values(s.raw_scores), s.name
        for m, metric in metrics.items():
            raw = metric.corpus_score(hyps, None).score
            assert round(s.raw_scores[m].score, 4) == round(raw, 4), (s.name, m)
            if any(flags):
                raw = metric.corpus_score(normalized, None).score
            assert round(s.scores[m].score, 4) == round(raw, 4), (s.name, m)
    # One segment of one system holds Traditional-only characters (and no Simplified-only one).
    assert converted == {"Online-G": 1}


@pytest.mark.shared_data
@needs_wmt22
def test_defaults_give_sacrebleus_ter_on_a_wmt22_slice_with_and_without_conversion(
    wmt22: evalkit.TestSet,
) -> None:
    part = slice(170, 250)  # sacrebleu's TER takes tens of seconds on a whole system
    names = ("HuaweiTSC", "Online-G")  # Online-G's line 191 holds Traditional characters
    ts = TestSet(
        name="slice",
        lang="zh",
        refs=(wmt22.refs[0][part],),
        systems={k: wmt22.systems[k][part] for k in names},
    )
    tr = evalkit.evaluate(ts).testsets[0]  # no flags: auto, all four metrics
    ter = TER(asian_support=True, normalized=True)
    for name in names:
        flags = tr.segment_data.changed[name]
        hyps = list(ts.systems[name])
        normalized = [Normalizer("t2s")(h) if f else h for h, f in zip(hyps, flags, strict=True)]
        s = tr.system(name)
        assert round(s.scores["ter"].score, 4) == round(
            ter.corpus_score(normalized, [list(ts.refs[0])]).score, 4
        )
    huawei = tr.system("HuaweiTSC")
    assert huawei.changed_segments == 0
    assert _values(huawei.scores) == _values(huawei.raw_scores)
    assert tr.system("Online-G").changed_segments == 1


@pytest.mark.shared_data
@needs_wmt22
def test_traditional_twins_of_wmt22_systems_score_within_a_tenth_of_the_originals(
    wmt22: evalkit.TestSet,
) -> None:
    s2t = Normalizer("s2t")
    systems = dict(wmt22.systems)
    for name, hyps in wmt22.systems.items():
        systems[f"{name}~s2t"] = s2t.apply(hyps).lines
    ts = TestSet(name="twins", lang="zh", refs=wmt22.refs, systems=systems)
    tr = evalkit.evaluate(ts, ["bleu"]).testsets[0]
    for name in wmt22.systems:
        original, twin = tr.system(name), tr.system(f"{name}~s2t")
        assert twin.raw_scores["bleu"].score < original.raw_scores["bleu"].score - 20
        assert abs(twin.scores["bleu"].score - original.scores["bleu"].score) < 0.1, name
        assert twin.changed_segments > 1900


def test_streamed_and_in_memory_auto_convert_the_same_segments(tmp_path: Path) -> None:
    ref = ["这块坏布不能用了。", "结果取决于天气。", "模型发布了。", "這是繁體。"]
    systems = {
        "simplified": ["这块坏布不能用。", "结果取决於天气", "模型发布了", "这是繁体。"],
        "traditional": ["這塊壞布不能用。", "結果取決於天氣", "模型發布了", "這是繁體。"],
    }
    (tmp_path / "ref.zh").write_text("\n".join(ref) + "\n", encoding="utf-8")
    for name, lines in systems.items():
        (tmp_path / f"{name}.zh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths = {name: str(tmp_path / f"{name}.zh") for name in systems}
    ts = evalkit.load_testset(str(tmp_path / "ref.zh"), paths)
    memory = evalkit.evaluate(ts, ["bleu", "chrf", "ter"]).testsets[0]
    streamed = score_files(
        [str(tmp_path / "ref.zh")], paths, metrics="bleu,chrf,ter", chunk_size=1
    ).testsets[0]
    assert streamed.normalization == memory.normalization
    assert memory.normalization["ref_converted_segments"] == 1  # the last line only
    assert memory.normalization["converted_segments"] == {"simplified": 1, "traditional": 4}
    assert memory.segment_data.changed["simplified"] == (False, True, False, False)
    for a, b in zip(streamed.systems, memory.systems, strict=True):
        assert a.scores == b.scores and a.raw_scores == b.raw_scores
        assert a.changed_segments == b.changed_segments and a.warnings == b.warnings


NTREX = WMT22.parents[1] / "ntrex128"


@pytest.mark.shared_data
@pytest.mark.skipif(not NTREX.is_dir(), reason="needs ../shared/data/ntrex128")
def test_ntrex_taiwan_text_is_converted_and_its_simplified_twin_is_not() -> None:
    paths = {"hant": str(NTREX / "zho_Hant.txt"), "hans": str(NTREX / "zho_Hans.txt")}
    ts = evalkit.load_testset(str(NTREX / "zho_Hans.txt"), paths)
    tr = evalkit.evaluate(ts, ["bleu"]).testsets[0]
    assert tr.normalization["converted_segments"] == {"hant": 1984, "hans": 0}
    assert tr.normalization["ref_converted_segments"] == 0
    hant = tr.system("hant")
    assert hant.scores["bleu"].score > hant.raw_scores["bleu"].score + 10


def _values(scores: dict) -> dict[str, float]:
    """metric → corpus score: raw scores carry no CI, so compare the numbers themselves."""
    return {m: v.score for m, v in scores.items()}
