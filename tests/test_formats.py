"""Inputs in the formats test sets ship in (evalkit.formats): compressed text, JSONL / TSV / CSV /
Parquet with a ``#field`` selector, WMT XML and sacrebleu's local dataset folder.

Every input is made here, in tmp_path; the numbers are checked against sacrebleu called directly
and the XML segments against sacrebleu's own XML reader.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import os
import threading
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from sacrebleu.dataset.base import Dataset
from sacrebleu.dataset.wmt_xml import WMTXMLDataset
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit._io import read_input
from evalkit.errors import ConfigError, InputError
from evalkit.formats import parse_spec
from evalkit.streaming.reading import count_lines, spool_input


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def wmt_xml(docs: list[dict], src_lang: str = "en", ref_lang: str = "zh") -> str:
    """A WMT21+ XML test set. ``docs``: dicts with ``id``, ``src`` (list), ``refs`` ({translator:
    list}), ``hyps`` ({system: list}), optional ``testsuite``; a None segment is left out."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<dataset id="t">', '<collection id="g">']
    for d in docs:
        suite = ' testsuite="yes"' if d.get("testsuite") else ""
        out.append(f'<doc id={quoteattr(d["id"])} origlang="{src_lang}"{suite}>')

        def part(tag: str, attrs: str, segs: list[str | None]) -> None:
            out.append(f"<{tag} {attrs}><p>")
            out.extend(
                f'<seg id="{i}">{escape(s)}</seg>' for i, s in enumerate(segs, 1) if s is not None
            )
            out.append(f"</p></{tag}>")

        part("src", f'lang="{src_lang}"', d["src"])
        for who, segs in d.get("refs", {}).items():
            part("ref", f'lang="{ref_lang}"' + (f' translator="{who}"' if who else ""), segs)
        for who, segs in d.get("hyps", {}).items():
            part("hyp", f'lang="{ref_lang}" system="{who}"', segs)
        out.append("</doc>")
    return "\n".join([*out, "</collection>", "</dataset>", ""])


def write_every_format(d: Path, stem: str, lines: list[str], sources: list[str]) -> list[str]:
    """The same segments as plain, compressed, JSONL, TSV, CSV and Parquet inputs; the strings
    that select them."""
    import pandas as pd
    import zstandard

    data = _text(lines).encode()
    (d / f"{stem}.txt").write_bytes(data)
    (d / f"{stem}.txt.gz").write_bytes(gzip.compress(data))
    (d / f"{stem}.txt.bz2").write_bytes(bz2.compress(data))
    (d / f"{stem}.txt.xz").write_bytes(lzma.compress(data))
    (d / f"{stem}.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    jsonl = "".join(
        json.dumps({"id": i, "translation": s}, ensure_ascii=i % 2 == 0) + "\n"
        for i, s in enumerate(lines)
    )
    (d / f"{stem}.jsonl.gz").write_bytes(gzip.compress(jsonl.encode()))
    (d / f"{stem}.tsv").write_text(
        "".join(f"{s}\t{t}\n" for s, t in zip(sources, lines, strict=True)), encoding="utf-8"
    )
    with (d / f"{stem}.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "target"])
        writer.writerows(zip(sources, lines, strict=True))
    pd.DataFrame({"source": sources, "target": lines}).to_parquet(d / f"{stem}.parquet")
    return [
        f"{stem}.txt",
        f"{stem}.txt.gz",
        f"{stem}.txt.bz2",
        f"{stem}.txt.xz",
        f"{stem}.txt.zst",
        f"{stem}.jsonl.gz#translation",
        f"{stem}.tsv#2",
        f"{stem}.csv#target",
        f"{stem}.parquet#target",
    ]


@pytest.fixture
def pair(tmp_path: Path, fixtures_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """(references, candidate, sources) of the bundled article, whitespace already collapsed
    (so that an XML test set of them reads back unchanged)."""
    refs = (fixtures_dir / "article.zh").read_text(encoding="utf-8").splitlines()
    hyps = (fixtures_dir / "en-zh" / "strong.zh").read_text(encoding="utf-8").splitlines()
    srcs = (fixtures_dir / "article.en").read_text(encoding="utf-8").splitlines()
    for line in [*refs, *hyps, *srcs]:
        assert Dataset._clean(line) == line
    return refs, hyps, srcs


def test_the_same_segments_in_every_format_score_identically_and_as_sacrebleu(
    tmp_path: Path, pair: tuple[list[str], list[str], list[str]], run_evalkit
) -> None:
    refs, hyps, srcs = pair
    candidates = write_every_format(tmp_path, "cand", hyps, srcs)
    xml = wmt_xml([{"id": "1", "src": srcs, "refs": {"A": refs}, "hyps": {"cand": hyps}}])
    (tmp_path / "test.xml.xz").write_bytes(lzma.compress(xml.encode()))
    candidates.append("test.xml.xz#sys:cand")
    expected = {
        "bleu": BLEU(tokenize="zh").corpus_score(hyps, [refs]).score,
        "chrf": CHRF().corpus_score(hyps, [refs]).score,
        "ter": TER(asian_support=True, normalized=True).corpus_score(hyps, [refs]).score,
    }
    for ref in ("ref.zh", "test.xml.xz#ref"):
        (tmp_path / "ref.zh").write_text(_text(refs), encoding="utf-8")
        for stream in ("--no-stream", "--stream"):
            named = [f"s{i}={c}" for i, c in enumerate(candidates)]
            proc = run_evalkit(
                "score", "--ref", ref, "--src", "cand.tsv#1", "--metrics", "bleu,chrf,ter",
                "--normalize", "none", "--bootstrap", "0", "--format", "json", stream, *named,
                cwd=tmp_path,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            results = evalkit.Results.from_json(proc.stdout)
            (testset,) = results.testsets
            assert len(testset.systems) == len(candidates)
            for system in testset.systems:
                got = {m: s.score for m, s in system.raw_scores.items()}
                assert got == pytest.approx(expected, abs=0), (ref, stream, system.name)


def test_xml_segments_are_sacrebleus_own_readers(tmp_path: Path) -> None:
    docs = [
        {
            "id": "d1",
            "src": ["Hello  world ", " two\tthree", "dropped", "four"],
            "refs": {"A": ["你好  世界", "二\n三 ", "", "四"], "B": ["b1", " b 2", "", "b4"]},
            "hyps": {"s1": ["h1", " h  2 ", "h3", "h4"]},
        },
        {"id": "d2", "testsuite": True, "src": ["x"], "refs": {"A": ["y"]}, "hyps": {"s1": ["z"]}},
        {"id": "d3", "src": ["c", "d"], "refs": {"A": ["r3", "r4"], "B": ["q3", ""]},
         "hyps": {"s1": ["w1", ""]}},
    ]  # fmt: skip
    path = tmp_path / "test.xml"
    path.write_text(wmt_xml(docs), encoding="utf-8")
    fields = WMTXMLDataset._unwrap_wmt21_or_later(str(path))
    for selector, field in [
        ("src", "src"),
        ("ref:A", "ref:A"),
        ("ref:B", "ref:B"),
        ("ref", "ref:A"),  # sacrebleu --echo ref: the first translator by name
        ("sys:s1", "s1"),
    ]:
        expected = tuple(Dataset._clean(line) for line in fields[field])
        assert read_input(f"{path}#{selector}").lines == expected, selector


def test_xml_segment_without_the_chosen_translator_names_segment_and_doc(
    tmp_path: Path, run_evalkit
) -> None:
    docs = [
        {"id": "1", "src": ["a", "b"], "refs": {"A": ["r1", "r2"], "B": ["q1", "q2"]}},
        {"id": "3", "src": ["c"] * 12, "refs": {"A": ["r"] * 12, "B": ["q"] * 11 + [None]}},
    ]
    (tmp_path / "test.xml").write_text(wmt_xml(docs), encoding="utf-8")
    (tmp_path / "hyp.zh").write_text(_text(["x"] * 14), encoding="utf-8")
    proc = run_evalkit("score", "--ref", "test.xml#ref:B", "hyp.zh", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "test.xml:" in proc.stderr
    assert "segment 12 of doc 3 has no reference by translator B" in proc.stderr
    with pytest.raises(
        InputError, match=r"no references by translator C \(translators in the file: A, B\)"
    ):
        read_input(tmp_path / "test.xml#ref:C")
    with pytest.raises(InputError, match="no outputs of system nope"):
        read_input(tmp_path / "test.xml#sys:nope")


def test_xml_with_a_doctype_is_refused_and_no_entity_is_expanded(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        + ']>\n<dataset><doc id="1"><src><p><seg id="1">&h;</seg></p></src>'
        '<ref translator="A"><p><seg id="1">&h;</seg></p></ref></doc></dataset>\n'
    )
    (tmp_path / "bomb.xml").write_text(bomb, encoding="utf-8")
    with pytest.raises(InputError, match="DOCTYPE: DTDs and entities are refused"):
        read_input(tmp_path / "bomb.xml#ref")
    (tmp_path / "undefined.xml").write_text(
        '<dataset>\n<doc id="1"><src><p><seg id="1">&x;</seg></p></src></doc></dataset>\n'
    )
    with pytest.raises(InputError, match=r"undefined.xml:2: not well-formed XML: Entity 'x'"):
        read_input(tmp_path / "undefined.xml#src")


def test_jsonl_record_without_the_field_names_file_and_line(tmp_path: Path, run_evalkit) -> None:
    records = [{"translation": f"t{i}"} for i in range(20)]
    records[16] = {"output": "t16"}
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "ref.en").write_text(_text([f"t{i}" for i in range(20)]))
    proc = run_evalkit("score", "--ref", "ref.en", "out.jsonl#translation", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.endswith('out.jsonl:17: no field "translation"'), line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param('{"t": "a\\nb"}\n', ["x.jsonl:1", "line break"], id="line-break"),
        pytest.param('{"t": null}\n', ["x.jsonl:1", "null"], id="null"),
        pytest.param('{"t": 3}\n', ["x.jsonl:1", "int"], id="number"),
        pytest.param('{"t": "a"}\n\n', ["x.jsonl:2", "empty line"], id="blank-line"),
        pytest.param('{"t": "a"}\n{"t": \n', ["x.jsonl:2", "invalid JSON"], id="bad-json"),
        pytest.param('["a"]\n', ["x.jsonl:1", "JSON object"], id="not-an-object"),
        pytest.param('{"t": "a\\u0000"}\n', ["x.jsonl:1", "NUL"], id="escaped-nul"),
    ],
)
def test_bad_jsonl_records_are_one_line_errors(
    tmp_path: Path, content: str, words: list[str]
) -> None:
    (tmp_path / "x.jsonl").write_text(content)
    with pytest.raises(InputError) as err:
        read_input(tmp_path / "x.jsonl#t", name=tmp_path / "x.jsonl#t")
    for word in words:
        assert word in str(err.value)


def test_a_value_keeps_leading_but_not_trailing_whitespace_as_a_text_line_would(
    tmp_path: Path,
) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps({"t": "  a b \r\n"}) + "\n")
    (tmp_path / "x.txt").write_text("  a b \r\n")
    assert read_input(tmp_path / "x.jsonl#t").lines == read_input(tmp_path / "x.txt").lines


def test_tsv_columns_count_from_one_like_cut_and_keep_empty_last_columns(tmp_path: Path) -> None:
    (tmp_path / "d.tsv").write_text("src\ttgt\tnote\r\na\tA\t\nb\tB \tn\n")
    assert read_input(tmp_path / "d.tsv#1").lines == ("src", "a", "b")  # no header with numbers
    assert read_input(tmp_path / "d.tsv#2").lines == ("tgt", "A", "B")
    assert read_input(tmp_path / "d.tsv#3").lines == ("note", "", "n")  # "a\tA\t": third is ""
    assert read_input(tmp_path / "d.tsv#tgt").lines == ("A", "B")  # a name: the header row
    with pytest.raises(InputError, match=r"d.tsv:1: no column 4 \(the row has 3\)"):
        read_input(tmp_path / "d.tsv#4")
    with pytest.raises(
        InputError, match=r'no column "target" in the header row \(columns: src, tgt, note\)'
    ):
        read_input(tmp_path / "d.tsv#target")
    with pytest.raises(InputError, match="count from 1"):
        read_input(tmp_path / "d.tsv#0")


def test_csv_quoting_is_read_and_a_quoted_line_break_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text('id,target\n1,"a, ""b"""\n2,"c\nd"\n', encoding="utf-8")
    with pytest.raises(InputError, match='d.csv:3: column "target" holds a line break'):
        read_input(tmp_path / "d.csv#target")
    (tmp_path / "ok.csv").write_text('id,target\n1,"a, ""b"""\n')
    assert read_input(tmp_path / "ok.csv#target").lines == ('a, "b"',)


def test_parquet_null_names_the_row_and_a_missing_column_lists_the_columns(tmp_path: Path) -> None:
    import pandas as pd

    pd.DataFrame({"target": ["a", None, "c"], "n": [1, 2, 3]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match='d.parquet: row 2: column "target" is null'):
        read_input(tmp_path / "d.parquet#target")
    with pytest.raises(InputError, match=r'no column "tgt" \(columns: target, n\)'):
        read_input(tmp_path / "d.parquet#tgt")
    with pytest.raises(InputError, match='column "n" holds int64, expected strings'):
        read_input(tmp_path / "d.parquet#n")


def test_a_hash_in_a_real_file_name_is_part_of_the_name(tmp_path: Path) -> None:
    (tmp_path / "a#b.txt").write_text("one\n")
    assert read_input(tmp_path / "a#b.txt").lines == ("one",)
    (tmp_path / "x.jsonl").write_text('{"f": "selected"}\n')
    assert read_input(tmp_path / "x.jsonl#f").lines == ("selected",)
    (tmp_path / "x.jsonl#f").write_text("the file named so\n")  # the full name exists: it wins
    assert read_input(tmp_path / "x.jsonl#f").lines == ("the file named so",)
    assert parse_spec(str(tmp_path / "nope.jsonl#f")).file == str(tmp_path / "nope.jsonl#f")
    with pytest.raises(InputError, match="file not found"):
        read_input(tmp_path / "nope.jsonl#f")
    with pytest.raises(ConfigError, match="read as plain text"):
        read_input(tmp_path / "a#b.txt#2")
    with pytest.raises(ConfigError, match="needs a field"):
        read_input(tmp_path / "x.jsonl")


def test_compressed_input_is_checked_as_text_is(tmp_path: Path) -> None:
    (tmp_path / "bad.txt.gz").write_bytes(gzip.compress(b"ok\nok\n\xff\n"))
    with pytest.raises(InputError, match=r"bad.txt.gz:3: invalid UTF-8 \(byte 0xff\)"):
        read_input(tmp_path / "bad.txt.gz")
    (tmp_path / "nul.txt.bz2").write_bytes(bz2.compress(b"ok\nb\x00d\n"))
    with pytest.raises(InputError, match="nul.txt.bz2:2: contains a NUL byte"):
        read_input(tmp_path / "nul.txt.bz2")
    (tmp_path / "long.txt.xz").write_bytes(lzma.compress(b"ok\n" + b"x" * 50 + b"\n"))
    with pytest.raises(InputError, match="long.txt.xz:2: line longer than the segment length"):
        read_input(tmp_path / "long.txt.xz", max_segment_chars=20)
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(b"ok\n" * 1000)[:-12])
    with pytest.raises(InputError, match=r"cut.txt.gz: cannot decompress \(gzip\)"):
        read_input(tmp_path / "cut.txt.gz")
    (tmp_path / "empty.txt.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="empty.txt.gz: file is empty"):
        read_input(tmp_path / "empty.txt.gz")


def test_a_long_field_value_stops_at_the_segment_limit(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text(
        json.dumps({"t": "ok"}) + "\n" + json.dumps({"t": "y" * 30}) + "\n"
    )
    with pytest.raises(
        InputError, match='x.jsonl:2: field "t" is longer than the segment length limit of 20'
    ):
        read_input(tmp_path / "x.jsonl#t", max_segment_chars=20)
    # an endless record stops once it is RECORD_FACTOR times the limit, not at its end
    (tmp_path / "endless.jsonl").write_text('{"t": "' + "z" * 10_000)
    with pytest.raises(InputError, match="endless.jsonl:1: record longer than 160 characters"):
        read_input(tmp_path / "endless.jsonl#t", max_segment_chars=20)


def test_a_compressed_fifo_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "ref.zh.gz"
    os.mkfifo(fifo)
    payload = gzip.compress("一\n二\n".encode())

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(payload)

    writer = threading.Thread(target=write)
    writer.start()
    assert read_input(fifo).lines == ("一", "二")
    writer.join()


def test_spooling_writes_segments_that_read_back_identically(tmp_path: Path) -> None:
    lines = ["\ufeffstarts with a BOM", "", "  x", "中文 \u3000y"]
    (tmp_path / "x.jsonl").write_text("".join(json.dumps({"t": s}) + "\n" for s in lines))
    spec = str(tmp_path / "x.jsonl#t")
    spooled = spool_input(spec, tmp_path)
    assert str(spooled) == spec
    assert read_input(spooled).lines == read_input(spec).lines
    assert count_lines(spec) == len(lines)


def test_detect_and_normalize_accept_the_same_strings(tmp_path: Path, run_evalkit) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps({"t": "這是繁體中文"}, ensure_ascii=False) + "\n")
    proc = run_evalkit("normalize", "x.jsonl#t", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "这是繁体中文\n"
    proc = run_evalkit("detect", "--json", "x.jsonl#t", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["traditional"] > 0


# --- sacrebleu's local dataset folder ---------------------------------------------------------


def _sacrebleu_folder(root: Path, refs: list[str], srcs: list[str]) -> None:
    """wmt22 en-zh as ``sacrebleu -t wmt22 -l en-zh --echo src`` leaves it: one text file per
    field, named DATASET.LANGPAIR.FIELD (``ref:A`` → ``ref-A``)."""
    folder = root / "wmt22"
    folder.mkdir(parents=True)
    (folder / "wmt22.en-zh.src").write_text(_text(srcs), encoding="utf-8")
    (folder / "wmt22.en-zh.ref-A").write_text(_text(refs), encoding="utf-8")


def test_testset_reads_sacrebleus_local_folder(
    tmp_path: Path, pair: tuple[list[str], list[str], list[str]], run_evalkit, monkeypatch
) -> None:
    refs, hyps, srcs = pair
    _sacrebleu_folder(tmp_path / "sb", refs, srcs)
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "sb"))
    (tmp_path / "hyp.zh").write_text(_text(hyps), encoding="utf-8")
    proc = run_evalkit(
        "score", "--testset", "wmt22:en-zh", "--metrics", "bleu", "--normalize", "none",
        "--bootstrap", "0", "--format", "json", "hyp.zh", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (testset,) = evalkit.Results.from_json(proc.stdout).testsets
    assert testset.lang == "zh"
    bleu = testset.system("hyp").raw_scores["bleu"].score
    assert bleu == BLEU(tokenize="zh").corpus_score(hyps, [refs]).score


def test_testset_falls_back_to_the_downloaded_xml(
    tmp_path: Path, pair: tuple[list[str], list[str], list[str]], monkeypatch
) -> None:
    from evalkit.formats import local_testset

    refs, _, srcs = pair
    raw = tmp_path / "sb" / "wmt22" / "raw" / "wmt22-news-systems-1.1" / "xml"
    raw.mkdir(parents=True)
    docs = [{"id": "1", "src": srcs, "refs": {"A": refs, "B": srcs}}]
    (raw / "wmttest2022.en-zh.all.xml").write_text(wmt_xml(docs), encoding="utf-8")
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "sb"))
    local = local_testset("wmt22:en-zh")
    assert [read_input(r).lines for r in local.refs] == [tuple(refs)]  # ref:A, sacrebleu's choice
    assert read_input(local.source).lines == tuple(srcs)


def test_a_testset_not_in_the_folder_names_the_command_that_fills_it(
    tmp_path: Path, run_evalkit, monkeypatch
) -> None:
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "empty"))
    (tmp_path / "hyp.zh").write_text("x\n")
    proc = run_evalkit("score", "--testset", "wmt22:en-zh", "hyp.zh", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "sacrebleu -t wmt22 -l en-zh --echo src" in proc.stderr
    assert not (tmp_path / "empty").exists()  # nothing downloaded, nothing created
    proc = run_evalkit("score", "--testset", "wmt22:xx-yy", "hyp.zh", cwd=tmp_path)
    assert proc.returncode == 2 and "has no pair xx-yy" in proc.stderr


def test_a_suite_takes_testset_and_selectors(
    tmp_path: Path, pair: tuple[list[str], list[str], list[str]], run_evalkit, monkeypatch
) -> None:
    refs, hyps, srcs = pair
    _sacrebleu_folder(tmp_path / "sb", refs, srcs)
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "sb"))
    (tmp_path / "out.jsonl").write_text(
        "".join(json.dumps({"translation": h}, ensure_ascii=False) + "\n" for h in hyps)
    )
    (tmp_path / "suite.toml").write_text(
        '[suite]\nname = "s"\nmetrics = ["bleu"]\nbootstrap = 0\nnormalize = "none"\n'
        '[[testsets]]\nname = "wmt"\ntestset = "wmt22:en-zh"\n'
        'systems = { mine = "out.jsonl#translation" }\n'
    )
    from evalkit.suite import load_suite

    (spec,) = load_suite(tmp_path / "suite.toml").testsets
    ts = spec.load()
    assert ts.lang == "zh"
    assert ts.sources == tuple(srcs)
    assert ts.systems["mine"] == tuple(hyps)
    (tmp_path / "suite.toml").write_text(
        '[[testsets]]\nrefs = ["ref.jsonl#t"]\nsystems = { a = "out.jsonl#translation" }\n'
    )
    with pytest.raises(ConfigError, match="names a file that does not exist"):
        load_suite(tmp_path / "suite.toml")


def test_system_names_come_from_the_spec(tmp_path: Path) -> None:
    from evalkit.corpus import parse_system_arg

    (tmp_path / "t.xml").write_text("<dataset/>")
    (tmp_path / "sysA.zh.gz").write_bytes(gzip.compress(b"x\n"))
    (tmp_path / "sysB.jsonl").write_text("{}\n")
    assert parse_system_arg(str(tmp_path / "t.xml#sys:Online-B"))[0] == "Online-B"
    assert parse_system_arg(str(tmp_path / "sysA.zh.gz"))[0] == "sysA"
    assert parse_system_arg(str(tmp_path / "sysB.jsonl#translation"))[0] == "sysB"


def test_a_plain_file_is_still_hashed_by_its_bytes(tmp_path: Path) -> None:
    # results-cache keys of text inputs must not change; decoded inputs hash their segments
    import hashlib

    data = "一\r\n二 \n".encode()
    (tmp_path / "x.zh").write_bytes(data)
    assert read_input(tmp_path / "x.zh").digest == hashlib.sha256(data).hexdigest()
    (tmp_path / "x.zh.gz").write_bytes(gzip.compress(data))
    assert (
        read_input(tmp_path / "x.zh.gz").digest == hashlib.sha256("一\n二\n".encode()).hexdigest()
    )
