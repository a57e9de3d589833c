"""``evalkit.fastter.ter_stats`` must give sacrebleu's TER statistics, bit for bit.

Every comparison is ``np.array_equal`` against ``TER(...)._extract_corpus_statistics`` on the
same input. Hypotheses are generated as block moves, deletions, insertions and substitutions of
the references over small vocabularies, so words repeat and shifts (and ties between shifts)
happen; hand-written cases reach the beam limit, the widened beam, the 1000-candidate cap and
sacrebleu's double preprocessing of references.
"""

from __future__ import annotations

import functools
import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import TER, lib_ter
from sacrebleu.metrics.lib_ter import BeamEditDistance
from sacrebleu.tokenizers.tokenizer_ter import TercomTokenizer

from evalkit import fastter
from evalkit.errors import InputError
from evalkit.fastter import ter_stats

Refs = list[list[str | None]]
FLAG_NAMES = ("normalized", "no_punct", "asian_support", "case_sensitive")
ALL_FLAGS = [
    dict(zip(FLAG_NAMES, bits, strict=True)) for bits in itertools.product((False, True), repeat=4)
]


def sacrebleu_ter(hyps: list[str], refs: Refs, **flags: bool) -> np.ndarray:
    stats = TER(**flags)._extract_corpus_statistics(hyps, refs)
    return np.array(stats, dtype=np.float64).reshape(-1, 2)


def assert_exact(hyps: list[str], refs: Refs, **flags: bool) -> np.ndarray:
    expected = sacrebleu_ter(hyps, refs, **flags)
    got = ter_stats(hyps, refs, **flags)
    assert got.dtype == np.float64 and got.shape == (len(hyps), 2)
    assert np.array_equal(got, expected), (flags, hyps, refs, got, expected)
    return got


# --- generated corpora --------------------------------------------------------------------------

_EN_VOCAB = (
    "the The THE cat sat on mat dog a an and it is was big red . , ! ? ( ) \" ' ; : - "
    "dog's U.S. 3.5 1,000 e-mail &amp; &lt; &quot; don't mat. it, 12-15"
).split()
_ZH_VOCAB = (
    list("的是了在中国人工智能模型开源芯片這個發布")
    + list("，。、“”（）！？：；")
    + [
        "AI",
        "5G",
        "3.5%",
        "GPU",
        "的的",
        "ｱｲ",
        "ひらがな",
    ]
)


@st.composite
def edited(draw: st.DrawFn, base: list[str], vocab: list[str]) -> list[str]:
    """``base`` after a few block moves (what shifts repair), deletions, insertions, swaps."""
    words = list(base)
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(("move", "move", "delete", "insert", "substitute")))
        pos = draw(st.integers(0, max(0, len(words))))
        if kind == "move" and words:
            size = draw(st.integers(1, 12))
            block = words[pos : pos + size]
            del words[pos : pos + size]
            target = draw(st.integers(0, len(words)))
            words[target:target] = block
        elif kind == "delete" and words:
            del words[pos : pos + draw(st.integers(1, 3))]
        elif kind == "insert":
            words[pos:pos] = draw(st.lists(st.sampled_from(vocab), min_size=1, max_size=3))
        elif words:
            words[min(pos, len(words) - 1)] = draw(st.sampled_from(vocab))
    return words


@st.composite
def corpora(draw: st.DrawFn, vocab: list[str], joiners: tuple[str, ...]) -> tuple[list, Refs]:
    """1-5 segments with 1-3 reference streams (some references ``None``, never all)."""
    n_refs = draw(st.integers(1, 3))
    hyps: list[str] = []
    streams: Refs = [[] for _ in range(n_refs)]
    for _ in range(draw(st.integers(1, 5))):
        base = draw(st.lists(st.sampled_from(vocab), max_size=30))
        joiner = draw(st.sampled_from(joiners))
        hyps.append(joiner.join(draw(edited(base, vocab))) + draw(st.sampled_from(("", " ", "\n"))))
        present = draw(st.lists(st.booleans(), min_size=n_refs, max_size=n_refs))
        present[draw(st.integers(0, n_refs - 1))] = True
        for k in range(n_refs):
            refs = joiner.join(draw(edited(base, vocab))) if k else joiner.join(base)
            streams[k].append(refs if present[k] else None)
    return hyps, streams


_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(corpus=corpora(_EN_VOCAB, (" ",)), flags=st.sampled_from(ALL_FLAGS))
def test_english_matches_sacrebleu(corpus: tuple[list[str], Refs], flags: dict) -> None:
    assert_exact(*corpus, **flags)


@_SETTINGS
@given(corpus=corpora(_ZH_VOCAB, ("", " ")), flags=st.sampled_from(ALL_FLAGS))
def test_chinese_matches_sacrebleu(corpus: tuple[list[str], Refs], flags: dict) -> None:
    assert_exact(*corpus, **flags)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora(_ZH_VOCAB, ("",)))
def test_chinese_asian_normalized_matches_sacrebleu(corpus: tuple[list[str], Refs]) -> None:
    """evalkit's default TER for a Chinese target: characters become tokens."""
    assert_exact(*corpus, normalized=True, asian_support=True)


@pytest.mark.parametrize("flags", ALL_FLAGS, ids=lambda f: "".join(str(int(v)) for v in f.values()))
def test_every_flag_combination_on_fixed_text(flags: dict) -> None:
    rng = random.Random(7)
    vocab = _EN_VOCAB + _ZH_VOCAB
    refs = [" ".join(rng.choices(vocab, k=rng.randint(0, 40))) for _ in range(12)]
    hyps = []
    for ref in refs:
        words = ref.split()
        if rng.random() < 0.3:
            rng.shuffle(words)
        cut = rng.randint(0, len(words))
        hyps.append(" ".join(words[cut:] + words[:cut]))
    assert_exact(hyps, [refs, list(reversed(refs))], **flags)


# --- hand-written corner cases ------------------------------------------------------------------


def test_identical_empty_and_whitespace() -> None:
    hyps = ["a b c", "", "a b", "", "  ", "x y\n", "a b"]
    refs = ["a b c", "a b", "", "", "", "x y", " "]
    got = assert_exact(hyps, [refs])
    assert got[0].tolist() == [0.0, 3.0]
    assert got[1].tolist() == [2.0, 2.0]  # empty hypothesis: one insertion per reference word
    assert got[2].tolist() == [2.0, 0.0]  # empty reference: every hypothesis word


def test_shifts_are_found_and_counted() -> None:
    ref = "a b c d e f g h i j"
    hyps = [
        "f g h i j a b c d e",  # one block move: 1 shift
        "b a d c f e h g j i",  # many single-word moves
        "e f a b c d i j g h",  # several block moves
        "j i h g f e d c b a",  # reversal: shifts compete with substitutions
        "a a b b c c d d e e",  # repeats
    ]
    got = assert_exact(hyps, [[ref] * len(hyps)])
    assert got[0, 0] == 1


def test_ties_between_equally_good_shifts() -> None:
    """Same-score shifts are ranked by length, start and target; repeats make many ties."""
    cases = [
        ("a b a b a b", "b a b a b a"),
        ("x a a x b b x", "x b b x a a x"),
        ("a b c a b c a b c", "c b a c b a c b a"),
        ("the cat the dog the mat", "the dog the mat the cat"),
        ("a a a b b b a a a", "b b b a a a b b b"),
    ]
    hyps = [h for h, _ in cases] + [r for _, r in cases]
    refs = [r for _, r in cases] + [h for h, _ in cases]
    assert_exact(hyps, [refs])


def test_beam_limit_changes_the_distance() -> None:
    """Alignments far off the pseudo-diagonal are cut by sacrebleu's beam; so are ours."""
    a = [f"a{i}" for i in range(40)]
    b = [f"b{i}" for i in range(40)]
    hyp, ref = a, a + b + a
    assert BeamEditDistance(ref)(hyp)[0] > len(ref) - len(hyp)  # the beam really binds here
    hyps = [" ".join(hyp), " ".join(b + a), " ".join(a[:5] + b + a[5:]), " ".join(a + b + a)]
    refs = [" ".join(ref), " ".join(a + b), " ".join(a), " ".join(b)]
    assert_exact(hyps, [refs])


def test_widened_beam_for_extreme_length_ratios() -> None:
    """Length ratio over 50 widens sacrebleu's beam (``ceil(ratio / 2 + 25)``)."""
    long = " ".join(f"w{i % 7}" for i in range(130))
    assert_exact(["w1 w2 w3", long, "w6", long[:9]], [[long, "w1 w2 w3", long, long]])


def test_candidate_cap_discards_the_last_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long lines over three words reach sacrebleu's 1000 evaluated shift candidates."""
    capped = []
    original = lib_ter._shift

    def spy(*args: object) -> tuple:
        out = original(*args)
        capped.append(out[2] >= lib_ter._MAX_SHIFT_CANDIDATES)
        return out

    monkeypatch.setattr(lib_ter, "_shift", spy)
    rng = random.Random(1)
    ref = " ".join(rng.choices("abc", k=60))
    hyp = " ".join(rng.choices("abc", k=60))
    assert_exact([hyp, ref], [[ref, hyp]])
    assert any(capped)


def test_long_chinese_lines() -> None:
    rng = random.Random(3)
    chars = "的是了在中国人工智能模型开源芯片，。"
    refs = ["".join(rng.choices(chars, k=rng.randint(60, 140))) for _ in range(4)]
    hyps = []
    for ref in refs:
        c = list(ref)
        for _ in range(4):
            a = rng.randrange(len(c))
            block = c[a : a + rng.randint(1, 10)]
            del c[a : a + len(block)]
            b = rng.randrange(len(c) + 1)
            c[b:b] = block
        hyps.append("".join(c[: len(c) - rng.randint(0, 30)]))
    assert_exact(hyps, [refs], normalized=True, asian_support=True)


def _moved(rng: random.Random, tokens: list[str], vocab: str | list[str]) -> list[str]:
    """``tokens`` after block moves of up to 12 tokens (up to 60 positions), drops and swaps."""
    out = list(tokens)
    for _ in range(rng.randint(0, 6)):
        roll = rng.random()
        if roll < 0.5 and len(out) > 2:
            a = rng.randrange(len(out))
            block = out[a : a + rng.randint(1, 12)]
            del out[a : a + len(block)]
            b = min(len(out), max(0, a + rng.randint(-60, 60)))
            out[b:b] = block
        elif roll < 0.7 and out:
            del out[rng.randrange(len(out))]
        elif roll < 0.85:
            out.insert(rng.randint(0, len(out)), rng.choice(vocab))
        elif out:
            out[rng.randrange(len(out))] = rng.choice(vocab)
    return out


@functools.cache
def _random_pairs(lang: str) -> tuple[list[str], list[str], dict, np.ndarray]:
    """Seeded pairs and sacrebleu's rows for them, computed once for both kernels."""
    rng = random.Random(14 if lang == "en" else 41)
    vocab = "的是了在中国人工智能模型开源芯片这个发布，。“”" if lang == "zh" else _EN_VOCAB
    joiner = "" if lang == "zh" else " "
    hyps, refs = [], []
    for _ in range(80):
        ref = rng.choices(vocab, k=rng.randint(5, 90))
        hyp = _moved(rng, ref, vocab)
        if rng.random() < 0.15:  # far shorter or longer hypotheses: skewed beams
            hyp = hyp[: len(hyp) // 3] if rng.random() < 0.5 else hyp + hyp[:10]
        hyps.append(joiner.join(hyp))
        refs.append(joiner.join(ref))
    flags = {"normalized": True, "asian_support": True} if lang == "zh" else {}
    return hyps, refs, flags, sacrebleu_ter(hyps, [refs], **flags)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_many_random_segment_pairs_match_sacrebleu(lang: str) -> None:
    """Pairs of realistic length and length ratio: shifts that cross the beam's edge and the
    row where a candidate rejoins the current hypothesis (where the compiled kernel joins)."""
    hyps, refs, flags, expected = _random_pairs(lang)
    assert np.array_equal(ter_stats(hyps, [refs], **flags), expected)


def test_repetitive_lines_where_neighbouring_candidates_share_rows() -> None:
    """Two- and three-word vocabularies: consecutive candidate shifts often spell the same words
    far past their own span, where the compiled kernel reuses the previous candidate's rows."""
    rng = random.Random(2026)
    hyps, refs = [], []
    for _ in range(60):
        vocab = rng.choice(("ab", "abc", "aab"))
        ref = rng.choices(vocab, k=rng.randint(4, 45))
        hyp = _moved(rng, ref, vocab)
        hyps.append(" ".join(hyp))
        refs.append(" ".join(ref))
    assert_exact(hyps, [refs])


def test_references_are_preprocessed_twice_like_sacrebleu() -> None:
    """Tercom normalisation is not idempotent; sacrebleu tokenizes references twice."""
    got = assert_exact(["l's,", "a's，.a,"], [["l's,", "a's，.a,"]], normalized=True)
    assert got[0, 0] > 0  # the hypothesis keeps "l's", the reference becomes "l 's"


def test_average_reference_length_over_present_references() -> None:
    hyps = ["a b c", "a b"]
    refs: Refs = [["a b c d", None], [None, "a"], ["a b", "a b c"]]
    got = assert_exact(hyps, refs)
    assert got[0, 1] == 3.0 and got[1, 1] == 2.0


def test_jobs_spread_every_systems_segments_over_one_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # why: a pool per system call left --jobs 2 no faster on 13 systems; chunks of all systems
    # now go to one shared pool, and the rows must come back in each system's order.
    monkeypatch.setattr(fastter, "_PARALLEL_MIN_SEGMENTS", 1)
    rng = random.Random(5)
    words = "the cat sat on a mat and the dog ate it".split()
    refs = [" ".join(rng.choices(words, k=rng.randint(0, 25))) for _ in range(70)]
    systems = [[" ".join(rng.sample(r.split(), len(r.split()))) for r in refs] for _ in range(3)]
    single = fastter.ter_stats_many(systems, [refs])
    pools = []
    original = fastter._shared_pool

    def spy(jobs: int) -> object:
        pools.append(original(jobs))
        return pools[-1]

    monkeypatch.setattr(fastter, "_shared_pool", spy)
    parallel = fastter.ter_stats_many(systems, [refs], jobs=2)
    assert ter_stats(systems[1], [refs], jobs=2).tolist() == parallel[1].tolist()
    assert len(pools) == 2 and pools[0] is pools[1]  # one pool, reused by the next call
    for got, hyps, one in zip(parallel, systems, single, strict=True):
        assert np.array_equal(got, one)
        assert np.array_equal(got, sacrebleu_ter(hyps, [refs]))


def test_unreachable_cell_falls_back_to_sacrebleu(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: object) -> int:
        raise fastter._UnreachableError

    monkeypatch.setattr(fastter, "_edits", unreachable)
    assert_exact(["b a c d", "x"], [["a b c d", "y z"]])


def test_input_validation() -> None:
    with pytest.raises(InputError):
        ter_stats(["a"], [["a", "b"]])
    with pytest.raises(InputError):
        ter_stats("a", [["a"]])
    with pytest.raises(InputError):
        ter_stats(["a"], ["a"])
    with pytest.raises(InputError):
        ter_stats(["a"], [])
    with pytest.raises(InputError):
        ter_stats(["a"], [[None], [None]])
    with pytest.raises(InputError):
        ter_stats([None], [["a"]])  # type: ignore[list-item]
    assert ter_stats([], [[]]).shape == (0, 2)


# --- the tokenizer ------------------------------------------------------------------------------

#: Characters around every boundary the tokenizer cares about, plus text that exercises the
#: context-dependent steps (possessives, digits next to periods, commas and dashes, entities).
_TOKENIZER_ALPHABET = (
    "aZs's9.,-\n&;quotamplgt '\"/:@[`{~!?()"
    + "".join(chr(c) for c in range(0x2E7E, 0x2F02))
    + "".join(chr(c) for c in range(0x2FFE, 0x3022))
    + "".join(chr(c) for c in (0x303F, 0x3040, 0x309F, 0x30A0, 0x30FB, 0x30FF, 0x31BF, 0x31C0))
    + "".join(chr(c) for c in (0x31EF, 0x31F0, 0x31FF, 0x3200, 0x33FF, 0x3400, 0x3F22, 0x3F23))
    + "".join(chr(c) for c in (0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x9FFF, 0xA000, 0xF8FF, 0xF900))
    + "".join(chr(c) for c in (0xFAFF, 0xFB00, 0xFE2F, 0xFE30, 0xFE4F, 0xFE50, 0xFF00))
    + "".join(chr(c) for c in range(0xFF01, 0xFF12))
    + "".join(chr(c) for c in range(0xFF18, 0xFF21))
    + "".join(chr(c) for c in range(0xFF5F, 0xFF67))
    + "ÀÉ"
)


@pytest.mark.parametrize("flags", ALL_FLAGS, ids=lambda f: "".join(str(int(v)) for v in f.values()))
def test_tokenizer_pads_and_removes_exactly_sacrebleus_characters(flags: dict) -> None:
    """Every code point, alone and between letters, tokenizes as sacrebleu's TercomTokenizer."""
    ours = fastter._tokenizer(tuple(flags[k] for k in FLAG_NAMES))
    theirs = TercomTokenizer(**flags)
    for start in range(0, 0x30000, 4096):
        chars = [chr(c) for c in range(start, start + 4096) if not 0xD800 <= c < 0xE000]
        for text in ("".join(chars), "x".join(chars), " ".join(chars)):
            assert ours(text) == theirs(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(_TOKENIZER_ALPHABET, max_size=40), flags=st.sampled_from(ALL_FLAGS))
def test_tokenizer_matches_sacrebleu_on_random_text(text: str, flags: dict) -> None:
    ours = fastter._tokenizer(tuple(flags[k] for k in FLAG_NAMES))
    assert ours(text) == TercomTokenizer(**flags)(text)
    assert ours(ours(text)) == TercomTokenizer(**flags)(TercomTokenizer(**flags)(text))
