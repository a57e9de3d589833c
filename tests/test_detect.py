"""Script detection: counts agree with OpenCC's own tables; verdicts drive --normalize auto."""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.detect import ScriptShare, detect_script, is_han, lines_with

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def read(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def opencc_kind(ch: str) -> str:
    """The definition: Traditional-only if only t2s changes it, Simplified-only if only s2t does."""
    to_s = opencc.OpenCC("t2s").convert(ch)
    to_t = opencc.OpenCC("s2t").convert(ch)
    if to_s != ch and to_t == ch:
        return "traditional"
    if to_t != ch and to_s == ch:
        return "simplified"
    return "neutral"


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("article.zh", "simplified"),  # why: Simplified script even with Taiwan vocabulary
        ("en-zh/strong.zh", "simplified"),  # why: mainland Simplified
        ("en-zh/traditional.zh", "traditional"),  # why: s2t output, mainland vocabulary
        ("en-zh/taiwan.zh", "traditional"),  # why: s2twp output, a few shared chars do not matter
        ("article.en", "none"),  # why: English has no Han characters at all
        # why: only the stray 智谱/唐杰 count, and 谱 is Simplified-only (譜)
        ("zh-en/llm-chatty.en", "simplified"),
    ],
)
def test_fixture_files_get_the_script_verdict_their_readme_describes(name: str, verdict: str):
    assert detect_script(read(name)).verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("", "none"),  # why: nothing to judge
        ("abc 123", "none"),  # why: no Han characters
        ("人工智能模型", "neutral"),  # why: every character is shared by both scripts
        ("这个后来", "simplified"),  # why: 这/个 are Simplified-only
        ("這個", "traditional"),  # why: 這/個 are Traditional-only
        ("这這", "mixed"),  # why: one of each, neither dominates
    ],
)
def test_verdicts_on_small_texts(text: str, verdict: str) -> None:
    assert detect_script([text]).verdict == verdict


def test_counts_are_occurrences_and_other_counts_non_han_non_space() -> None:
    share = detect_script(["這這这 ab", "中"])
    assert share == ScriptShare(simplified=1, traditional=2, neutral=1, other=2)
    assert share.han == 4
    assert share.as_dict()["traditional_share"] == 0.5


_HAN = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000, 7))  # a spread of common ideographs


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=_HAN + "這個後來們時說為發國對軟體晶片 ab", max_size=25))
def test_classification_agrees_with_opencc_character_by_character(text: str) -> None:
    share = detect_script([text])
    expected = {"simplified": 0, "traditional": 0, "neutral": 0}
    for ch in text:
        if is_han(ch):
            expected[opencc_kind(ch)] += 1
    assert (share.simplified, share.traditional, share.neutral) == (
        expected["simplified"],
        expected["traditional"],
        expected["neutral"],
    )


def test_converting_a_simplified_fixture_with_s2t_flips_the_verdict() -> None:
    lines = read("en-zh/strong.zh")
    converted = [opencc.OpenCC("s2t").convert(x) for x in lines]
    assert detect_script(lines).verdict == "simplified"
    assert detect_script(converted).verdict == "traditional"


@pytest.mark.parametrize(
    ("ch", "han"),
    [
        ("中", True),  # why: CJK unified ideographs
        ("㐀", True),  # why: extension A
        ("𠀀", True),  # why: extension B, outside the BMP
        ("豈", True),  # why: compatibility ideographs
        ("。", False),  # why: CJK punctuation is not Han
        ("Ａ", False),  # why: full-width Latin is not Han
    ],
)
def test_is_han(ch: str, han: bool) -> None:
    assert is_han(ch) is han


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # why: 坏布 is Simplified text t2s would still change; 於 alone marks a Traditional line
        ("traditional", (False, True, True, False, False)),
        # why: a Traditional line with 里 (Simplified-only for OpenCC) is flagged the other way
        ("simplified", (True, True, False, True, False)),
    ],
)
def test_lines_with_flags_the_lines_holding_a_character_of_that_script(kind, expected) -> None:
    lines = ["这块坏布", "取决於天气", "這塊壞布", "一公里", "人工智能 GLM"]
    assert lines_with(lines, kind) == expected
    for line, flag in zip(lines, expected, strict=True):  # the definition, character by character
        assert flag == any(opencc_kind(ch) == kind for ch in line if is_han(ch))


def test_lines_with_on_lines_without_that_script_is_all_false() -> None:
    assert lines_with(read("article.zh"), "traditional") == (False,) * len(read("article.zh"))
    assert lines_with([], "simplified") == ()
