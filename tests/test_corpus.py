"""LOAD: test sets are read strictly, validated, and never lose or invent a segment."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit.corpus import detect_lang, load_testset, parse_system_arg
from evalkit.errors import ConfigError, EvalkitError, InputError


def _write(path: Path, lines: list[str] | bytes) -> Path:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_refs_are_held_as_k_streams_of_n_segments(fixtures_dir: Path) -> None:
    ts = load_testset(
        [fixtures_dir / "article.en", fixtures_dir / "article.alt.en"],
        {"strong": fixtures_dir / "zh-en" / "strong.en"},
        sources=fixtures_dir / "article.zh",
    )
    assert len(ts.refs) == 2
    assert ts.refs[0] == tuple((fixtures_dir / "article.en").read_text("utf-8").splitlines())
    assert ts.refs[1] == tuple((fixtures_dir / "article.alt.en").read_text("utf-8").splitlines())
    assert ts.n_segments == 12 == len(ts.sources) == len(ts.systems["strong"])
    assert ts.lang == "en"  # detected from the first reference
    assert ts.name == "article"
    assert ts.baseline_name == "strong"  # the first system when none is named


@pytest.mark.parametrize(
    ("systems", "names"),
    [
        # why: the README's API example passes a {name: path} mapping
        pytest.param({"A": "en-zh/strong.zh", "B": "en-zh/weak.zh"}, ("A", "B"), id="mapping"),
        # why: the CLI passes PATH and NAME=PATH strings; a bare path is named after its file
        pytest.param(["en-zh/strong.zh", "w=en-zh/weak.zh"], ("strong", "w"), id="cli-list"),
        # why: one path as a plain string is one system, not one system per character
        pytest.param("en-zh/strong.zh", ("strong",), id="single-string"),
    ],
)
def test_systems_can_be_given_as_mapping_list_or_single_path(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, systems, names
) -> None:
    monkeypatch.chdir(fixtures_dir)
    ts = load_testset("article.zh", systems)
    assert ts.system_names == names
    assert ts.lang == "zh"


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        # why: a bare path is named after its file name without the extension
        ("runs/sysA.zh", ("sysA", "runs/sysA.zh")),
        # why: NAME=PATH names a system explicitly
        ("B=runs/sysA.zh", ("B", "runs/sysA.zh")),
        # why: only the first '=' separates; the path may contain more
        ("B=runs/a=b.zh", ("B", "runs/a=b.zh")),
        # why: a '/' before the first '=' means the '=' is part of a folder name
        ("runs/lr=0.1/out.zh", ("out", "runs/lr=0.1/out.zh")),
        # why: './' is the way to pass a file whose own name contains '='
        ("./lr=0.1.zh", ("lr=0.1", "./lr=0.1.zh")),
        # why: a dotfile has no extension to strip
        (".hidden", (".hidden", ".hidden")),
        # why: only the last extension is stripped
        ("out.v2.zh", ("out.v2", "out.v2.zh")),
    ],
)
def test_system_arguments_are_split_into_name_and_path(arg: str, expected) -> None:
    assert parse_system_arg(arg) == expected


@pytest.mark.parametrize(
    "arg",
    [
        "=sys.zh",  # why: empty name
        "A=",  # why: empty path
        "my system=sys.zh",  # why: a space cannot be in a name used in tables and CSV
        "-x=sys.zh",  # why: a name must start with a letter or digit
    ],
)
def test_a_malformed_name_equals_path_is_a_config_error(arg: str) -> None:
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_system_arg(arg)


@pytest.mark.parametrize(
    ("file_name", "expected_name"),
    [
        # why: 'lr' is a valid NAME, but the whole argument is an existing file
        ("lr=0.1.zh", "lr=0.1"),
        # why: 'my run' is not a valid NAME, so the '=' cannot split NAME=PATH
        ("my run=2.zh", "my run=2"),
    ],
)
def test_an_existing_file_whose_name_contains_equals_is_read_as_a_path(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_name, expected_name
) -> None:
    strong = (fixtures_dir / "en-zh" / "strong.zh").read_text("utf-8")
    (tmp_path / file_name).write_text(strong, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert parse_system_arg(file_name) == (expected_name, file_name)
    ts = load_testset(fixtures_dir / "article.zh", [file_name])
    assert ts.systems[expected_name] == tuple(strong.splitlines())


def test_duplicate_system_names_are_a_config_error_naming_both_paths(fixtures_dir: Path) -> None:
    a = fixtures_dir / "en-zh" / "strong.zh"
    with pytest.raises(ConfigError, match="duplicate system name 'strong'") as info:
        load_testset(fixtures_dir / "article.zh", [str(a), f"strong={a}"])
    assert str(info.value).count(str(a)) == 2


@pytest.mark.parametrize(
    ("role", "what"),
    [
        ("candidate", "candidate"),  # why: the usual case, a truncated system output
        ("second-ref", "reference"),  # why: a second reference from another segmentation
        ("source", "source"),  # why: sources are shown beside segments; they must line up too
    ],
)
def test_line_counts_that_differ_are_an_input_error_stating_both_counts(
    tmp_path: Path, fixtures_dir: Path, role: str, what: str
) -> None:
    ref = fixtures_dir / "article.zh"
    short = _write(tmp_path / "short.txt", ["一", "二", "三"])
    good = fixtures_dir / "en-zh" / "strong.zh"
    kwargs: dict = {"systems": {"s": good}}
    refs: list[Path] = [ref]
    if role == "candidate":
        kwargs["systems"] = {"s": short}
    elif role == "second-ref":
        refs.append(short)
    else:
        kwargs["sources"] = short
    with pytest.raises(InputError) as info:
        load_testset(refs, **kwargs)
    msg = str(info.value)
    assert info.value.path == str(short)
    assert msg.startswith(f"{short}: {what} has 3 lines")
    assert f"{ref} has 12" in msg


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (None, None),  # why: missing file
        (b"", None),  # why: empty file
        ("好\n".encode() * 4 + b"\xa4\xa4\n", 5),  # why: Big5 bytes on line 5 are not UTF-8
        (b"a\nb\x00\n", 2),  # why: a NUL byte on line 2
    ],
)
@pytest.mark.parametrize("role", ["ref", "candidate", "source"])
def test_a_bad_file_in_any_role_is_an_input_error_naming_that_file(
    tmp_path: Path, fixtures_dir: Path, role: str, content: bytes | None, line: int | None
) -> None:
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    ref, hyp, src = fixtures_dir / "article.zh", fixtures_dir / "en-zh" / "strong.zh", None
    if role == "ref":
        ref = bad
    elif role == "candidate":
        hyp = bad
    else:
        src = bad
    with pytest.raises(InputError) as info:
        load_testset(ref, {"s": hyp}, sources=src)
    assert info.value.path == str(bad)
    assert info.value.line == line
    assert str(info.value).startswith(str(bad) if line is None else f"{bad}:{line}")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"lang": "ja"}, "unsupported target language"),  # why: evalkit is zh<->en only
        ({"baseline": "nobody"}, "baseline 'nobody'"),  # why: a typo in the baseline name
        ({"refs": []}, "reference"),  # why: nothing to score against
        ({"systems": {}}, "candidate"),  # why: nothing to score
    ],
)
def test_invalid_options_are_config_errors(fixtures_dir: Path, kwargs: dict, words: str) -> None:
    args = {"refs": fixtures_dir / "article.zh", "systems": {"s": fixtures_dir / "en-zh/weak.zh"}}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=words):
        load_testset(args.pop("refs"), args.pop("systems"), **args)


@pytest.mark.parametrize(
    ("lines", "lang"),
    [
        (["白宫指示Anthropic暂停"], "zh"),  # why: Chinese with embedded Latin names is Chinese
        (["The White House (白宫) said"], "en"),  # why: a stray Han word does not make it Chinese
        (["", "   "], "en"),  # why: no characters at all falls back to English
        (["白宮指示"], "zh"),  # why: Traditional is Chinese too
    ],
)
def test_target_language_is_detected_from_the_share_of_han_characters(lines, lang) -> None:
    assert detect_lang(lines) == lang


# --- BOM, CRLF and empty segments all the way to the scores -----------------------------------


def _scores(ts: evalkit.TestSet) -> dict[str, float]:
    res = evalkit.evaluate(ts, ["bleu", "chrf", "ter"], normalizer="none")
    system = res.testsets[0].systems[0]
    return {m: s.score for m, s in system.scores.items()}


def test_crlf_and_bom_give_the_same_scores_as_the_clean_file(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    ref, hyp = fixtures_dir / "article.zh", fixtures_dir / "en-zh" / "truncated.zh"

    def dirty(path: Path) -> Path:
        return _write(
            tmp_path / path.name, b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n")
        )

    clean_scores = _scores(load_testset(ref, {"s": hyp}))
    dirty_scores = _scores(load_testset(dirty(ref), {"s": dirty(hyp)}))
    assert dirty_scores == clean_scores
    refs = [list(load_testset(ref, {"s": hyp}).refs[0])]
    hyps = list(load_testset(ref, {"s": hyp}).systems["s"])
    assert clean_scores["bleu"] == BLEU(tokenize="zh").corpus_score(hyps, refs).score


def test_an_empty_line_is_a_valid_empty_segment_and_is_never_dropped(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    ref = fixtures_dir / "article.zh"
    hyp = fixtures_dir / "en-zh" / "truncated.zh"  # lines 4 and 9 are empty (fixtures/README.md)
    ts = load_testset(ref, {"s": hyp})
    assert ts.n_segments == len(ts.systems["s"]) == 12
    assert ts.systems["s"][3] == "" and ts.systems["s"][8] == ""
    res = evalkit.evaluate(ts, ["bleu", "chrf", "ter"], normalizer="none")
    tr = res.testsets[0]
    assert tr.segments == 12
    seg = tr.segment_data.scores["s"]
    assert all(len(v) == 12 for v in seg.values())
    # the empty segment scores like sacrebleu scores an empty hypothesis, it is not skipped
    assert seg["chrf"][3] == CHRF().sentence_score("", [ts.refs[0][3]]).score
    assert (
        seg["ter"][3]
        == TER(asian_support=True, normalized=True).sentence_score("", [ts.refs[0][3]]).score
    )
    assert len(res.segments) == 12


def test_every_load_error_is_an_evalkit_error(tmp_path: Path) -> None:
    # the CLI's exit code 2 depends on every load failure sharing one base class
    with pytest.raises(EvalkitError):
        load_testset(tmp_path / "nope", {"s": tmp_path / "nope2"})
