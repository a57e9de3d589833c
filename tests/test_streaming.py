"""Streaming changes how much text is held at once, never a number or an error message.

The peer is evalkit itself: ``read_lines`` for reading, ``load_testset`` for errors and
``evaluate()`` for every score, CI and p-value (which are pinned against sacrebleu elsewhere).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evalkit
from evalkit import streaming
from evalkit._io import read_lines
from evalkit.cli import main as cli_main
from evalkit.detect import detect_script
from evalkit.errors import ConfigError, EvalkitError, InputError
from evalkit.evaluation import StatsOptions
from evalkit.metrics import make_metric
from evalkit.normalize import converter
from evalkit.streaming import read_aligned, score_files

# --- generated corpora (also used by test_distributed.py) -------------------------------------

_ZH_WORDS = (
    "我们 研究 表明 机器 翻译 质量 过去 十年 显著 提高 但是 仍然 许多 挑战 需要 解决 例如 "
    "低资源 语言 长文档 软件 程序 网络 信息 数据 模型 训练 评估 结果 系统 这个 那个 发展 "
    "经济 政府 国家 学校 医院 电脑 手机 时间 问题 方法 技术 里 后 面 发 干 台 系 只 个"
).split()
_EN_WORDS = (
    "the of and to a in is that for it was on with as by at from model data system "
    "translation quality research shows improved decade many challenges remain long documents "
    "U.S. e-mail 3.5 1,000 well-known don't it's (see) \"quoted\" end."
).split()


def _sentence(rng: np.random.Generator, lang: str) -> str:
    words = _ZH_WORDS if lang == "zh" else _EN_WORDS
    picks = rng.choice(len(words), size=int(rng.integers(1, 18)))
    sep = "" if lang == "zh" else " "
    text = sep.join(words[i] for i in picks)
    return text + ("。" if lang == "zh" else " .") if rng.random() < 0.8 else text


def _noisy(rng: np.random.Generator, line: str, lang: str, level: float) -> str:
    if rng.random() < 0.02:
        return ""
    if rng.random() < level:
        return _sentence(rng, lang)
    unit = list(line) if lang == "zh" else line.split(" ")
    kept = [u for u in unit if rng.random() > level / 2]
    return ("" if lang == "zh" else " ").join(kept)


def write_corpus(
    folder: Path, n: int, lang: str = "zh", systems: int = 3, seed: int = 7
) -> tuple[list[Path], dict[str, Path]]:
    """A deterministic reference (two for English) and ``systems`` candidates of ``n`` lines.

    Chinese candidates are partly Traditional (normalization changes them), some lines carry
    trailing spaces or CRLF, one file starts with a BOM and one lacks the final newline.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ref = [_sentence(rng, lang) for _ in range(n)]
    refs = [folder / f"ref.{lang}"]
    (refs[0]).write_text("\ufeff" + "\n".join(ref) + "\n", encoding="utf-8")
    if lang == "en":
        refs.append(folder / "ref2.en")
        alt = [_noisy(rng, line, lang, 0.3) for line in ref]
        refs[1].write_text("\n".join(alt), encoding="utf-8")  # no final newline
    to_trad = converter("s2t")
    paths = {}
    for k in range(systems):
        lines = []
        for line in ref:
            hyp = _noisy(rng, line, lang, 0.15 + 0.25 * k)
            if lang == "zh" and rng.random() < 0.2 * k:
                hyp = to_trad.convert(hyp)
            if rng.random() < 0.05:
                hyp += "  \r"
            lines.append(hyp)
        paths[f"sys{k}"] = folder / f"sys{k}.{lang}"
        paths[f"sys{k}"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return refs, paths


def comparable(results: evalkit.Results) -> dict[str, Any]:
    """Results as a dict with the per-segment data and diagnostics dropped (streaming keeps
    neither: its test sets say diagnostics were not computed)."""
    d = results.to_dict()
    for ts in d["testsets"]:
        ts["segment_data"] = None
        ts["diagnostics_config"] = None
        for sr in ts["systems"]:
            sr["diagnostics"] = None
    return json.loads(json.dumps(d, sort_keys=True))


def evaluate_files(refs, systems, metrics, **kw) -> evalkit.Results:
    ts = evalkit.load_testset(
        [str(r) for r in refs],
        {k: str(v) for k, v in systems.items()},
        sources=kw.pop("sources", None),
        baseline=kw.pop("baseline", None),
    )
    return evalkit.evaluate(ts, metrics, kw.pop("normalizer", "auto"), **kw)


@pytest.fixture(scope="module")
def zh_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Path]]:
    return write_corpus(tmp_path_factory.mktemp("zh"), 1500, "zh")


@pytest.fixture(scope="module")
def en_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Path]]:
    return write_corpus(tmp_path_factory.mktemp("en"), 1200, "en", systems=2)


# --- reading ----------------------------------------------------------------------------------

_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\x00"),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(_LINE, min_size=1, max_size=30),
    crlf=st.booleans(),
    bom=st.booleans(),
    final_newline=st.booleans(),
    chunk=st.integers(1, 8),
)
def test_chunks_read_exactly_what_read_lines_reads(
    tmp_path: Path, lines: list[str], crlf: bool, bom: bool, final_newline: bool, chunk: int
) -> None:
    text = ("\r\n" if crlf else "\n").join(lines) + ("\n" if final_newline else "")
    path = tmp_path / "f.txt"
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    if not path.read_bytes() or path.read_bytes() == b"\xef\xbb\xbf":
        return  # errors: covered below
    got = [line for _, (part,) in read_aligned([path], chunk) for line in part]
    assert got == list(read_lines(path))
    assert streaming.count_lines(path) == len(got)


def _error(call) -> str:
    with pytest.raises(EvalkitError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"ok\n" * 12 + b"\xff bad\n" + b"ok\n" * 7, id="invalid-utf8-line-13"),
        pytest.param(b"ok\n" * 12 + "三".encode("gbk") + b"\n" + b"ok\n" * 7, id="gbk-line-13"),
        pytest.param(b"ok\n" * 6 + b"a\x00b\n" + b"ok\n" * 13, id="nul-line-7"),
        pytest.param(b"ok\n" * 19 + b"\xe4\xb8", id="truncated-at-end"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"ok\n" * 19, id="one-line-short"),
        pytest.param(b"ok\n" * 21, id="one-line-long"),
        pytest.param(b"ok\n" * 20 + b"x", id="one-line-long-no-newline"),
    ],
)
@pytest.mark.parametrize("chunk", [1, 5, 100])
def test_bad_candidates_are_the_errors_load_testset_raises(
    tmp_path: Path, content: bytes, chunk: int
) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text("ok\n" * 20, encoding="utf-8")
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes(content)
    expected = _error(lambda: evalkit.load_testset(str(ref), {"h": str(hyp)}))
    got = _error(lambda: score_files([str(ref)], {"h": str(hyp)}, metrics="bleu", chunk_size=chunk))
    assert got == expected


@pytest.mark.parametrize("what", ["missing", "directory", "ref-short", "source-nul"])
def test_missing_folder_and_misaligned_files_match_load_testset(tmp_path: Path, what: str) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text("a\nb\nc\n", encoding="utf-8")
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("a\nb\nc\n", encoding="utf-8")
    refs, kw = [str(ref)], {}
    if what == "missing":
        hyp = tmp_path / "nope.txt"
    elif what == "directory":
        hyp = tmp_path
    elif what == "ref-short":
        (tmp_path / "ref2.txt").write_text("a\nb\n", encoding="utf-8")
        refs.append(str(tmp_path / "ref2.txt"))
    else:
        (tmp_path / "src.txt").write_bytes(b"a\nb\x00\nc\n")
        kw["sources"] = str(tmp_path / "src.txt")
    expected = _error(lambda: evalkit.load_testset(refs, {"h": str(hyp)}, **kw))
    got = _error(lambda: score_files(refs, {"h": str(hyp)}, metrics="bleu", chunk_size=2, **kw))
    assert got == expected


def test_paths_are_named_in_messages_as_the_user_wrote_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ref.txt").write_text("a\nb\n", encoding="utf-8")
    Path("hyp.txt").write_text("a\n", encoding="utf-8")
    Path("bad.txt").write_bytes(b"a\n\xff\n")
    for hyp in ("./hyp.txt", "./bad.txt"):
        expected = _error(lambda h=hyp: evalkit.load_testset("./ref.txt", [h]))
        assert _error(lambda h=hyp: score_files(["./ref.txt"], [h], metrics="bleu")) == expected


def test_index_finds_every_chunk_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        streaming.reading, "_SCAN_BLOCK", 7
    )  # boundaries fall inside and across blocks
    lines = [f"line {i} " + "x" * (i % 5) for i in range(50)]
    path = tmp_path / "f.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ix = streaming.index_file(path, chunk_size=6)
    assert ix.n_lines == 50 and len(ix.starts) == 9
    data = path.read_bytes()
    for c in range(len(ix.starts)):
        rng = ix.range(c)
        assert data[rng.start : rng.stop].decode().splitlines() == lines[c * 6 : c * 6 + 6]


def test_a_file_that_changes_between_indexing_and_reading_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    rng = streaming.index_file(path, chunk_size=2).range(0)
    path.write_text("a\n\nb\nc\n", encoding="utf-8")
    with pytest.raises(InputError, match="changed while being read"):
        streaming.read_range(rng)


# --- identical to evaluate() ------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite_testsets(fixtures_dir: Path) -> list[evalkit.TestSet]:
    return [spec.load() for spec in evalkit.load_suite(fixtures_dir / "suite.toml").testsets]


def _files(ts: evalkit.TestSet) -> tuple[list[str], dict[str, str]]:
    refs = [ts.paths[k] for k in sorted(k for k in ts.paths if k.startswith("ref"))]
    systems = {k.split(":", 1)[1]: v for k, v in ts.paths.items() if k.startswith("system:")}
    return refs, systems


@pytest.mark.parametrize(
    "opts",
    [
        StatsOptions(),
        StatsOptions(bootstrap=300, paired="bs"),
        StatsOptions(bootstrap=100, paired="ar", pairwise=True, ar_trials=300),
    ],
    ids=["no-stats", "ci+paired-bs", "ci+pairwise-ar"],
)
def test_fixtures_score_as_evaluate_scores_them(
    suite_testsets: list[evalkit.TestSet], opts: StatsOptions
) -> None:
    for ts in suite_testsets:
        refs, systems = _files(ts)
        metrics = "bleu,chrf,chrf++,ter" if opts.paired == "none" else "bleu,chrf++"
        expected = evalkit.evaluate(ts, metrics, "auto", stats=opts)
        got = score_files(
            refs,
            systems,
            metrics=metrics,
            stats=opts,
            chunk_size=5,
            baseline=ts.baseline,
            name=ts.name,
            sources=ts.paths.get("source"),
        )
        assert comparable(got) == comparable(expected), ts.name


@pytest.mark.parametrize(("chunk", "jobs"), [(1000, 1), (333, 2), (10_000, 1)])
def test_generated_chinese_scores_as_evaluate_for_any_chunking(
    zh_corpus: tuple[list[Path], dict[str, Path]], chunk: int, jobs: int
) -> None:
    refs, systems = zh_corpus
    opts = StatsOptions(bootstrap=200, paired="bs")
    expected = evaluate_files(refs, systems, "bleu,chrf", stats=opts, baseline="sys1")
    got = score_files(
        refs, systems, metrics="bleu,chrf", stats=opts, chunk_size=chunk, jobs=jobs,
        baseline="sys1",
    )  # fmt: skip
    assert comparable(got) == comparable(expected)
    ts = got.testsets[0]
    assert ts.segment_data is None and ts.normalization["config"] == "t2s"
    assert all(s.changed_segments > 0 for s in ts.systems[1:])  # normalization did something


def test_generated_english_two_references_and_punct_score_as_evaluate(
    en_corpus: tuple[list[Path], dict[str, Path]],
) -> None:
    refs, systems = en_corpus
    kw = {"normalizer": "none", "punct": True, "stats": StatsOptions(paired="ar", ar_trials=200)}
    expected = evaluate_files(refs, systems, "bleu,chrf++,ter", **kw)
    got = score_files(refs, systems, metrics="bleu,chrf++,ter", chunk_size=400, **kw)
    assert comparable(got) == comparable(expected)


def test_sums_and_script_counts_equal_the_whole_array_ones(
    suite_testsets: list[evalkit.TestSet],
) -> None:
    ts = suite_testsets[1]  # two English references: TER's reference lengths are fractional
    for name in ("ter", "bleu"):
        spec = make_metric(name, ts.lang)
        stats = spec.extract_stats(ts.systems["weak"], ts.refs)
        for size in (1, 5, 12):
            chunks = [streaming._compact(stats[i : i + size]) for i in range(0, len(stats), size)]
            got = streaming._metric_score(spec, chunks, len(ts.refs)).score
            assert got == spec.corpus_score(stats)
            totals = streaming._float64_totals(chunks)
            assert np.array_equal(totals, stats.astype(np.float64).sum(axis=0))
    zh = suite_testsets[2]
    for lines in (zh.refs[0], *zh.systems.values()):
        whole = tuple(vars(detect_script(lines)).values())
        assert streaming._script_counts(lines) == whole
        for size in (1, 5):  # chunk counts add up to the whole file's
            starts = range(0, len(lines), size)
            parts = [streaming._script_counts(lines[i : i + size]) for i in starts]
            assert tuple(map(sum, zip(*parts, strict=True))) == whole


def test_statistics_are_stored_in_the_smallest_exact_integer_type() -> None:
    assert streaming._compact(np.array([[0, 65535]])).dtype == np.uint16
    assert streaming._compact(np.array([[-1, 5]])).dtype == np.int32
    big = np.array([[2**40]])
    assert streaming._compact(big).dtype == np.int64
    ter = np.array([[1.5, 2.0]])
    assert streaming._compact(ter) is ter


def test_progress_reports_segments_done_up_to_the_total(
    zh_corpus: tuple[list[Path], dict[str, Path]],
) -> None:
    refs, systems = zh_corpus
    calls: list[tuple[str, int, int]] = []
    score_files(refs, systems, metrics="bleu", chunk_size=500, progress=lambda *a: calls.append(a))
    done = [c[1] for c in calls]
    assert done == sorted(done) and calls[-1][1:] == (4500, 4500)
    assert calls[0][0].endswith("scoring") and calls[-1][0].endswith("resampling")


def test_file_urls_are_read_through_fsspec(zh_corpus: tuple[list[Path], dict[str, Path]]) -> None:
    pytest.importorskip("fsspec")
    refs, systems = zh_corpus
    plain = score_files(refs, systems, metrics="bleu", chunk_size=700)
    urls = score_files(
        [r.as_uri() for r in refs],
        {k: v.as_uri() for k, v in systems.items()},
        metrics="bleu",
        chunk_size=700,
    )
    assert comparable(urls) == comparable(plain)  # the same default name, too
    with pytest.raises(InputError, match="not found"):
        score_files([refs[0].as_uri() + ".missing"], systems, metrics="bleu")


# --- resampling over row blocks (above EXACT_RESAMPLING_MAX_SEGMENTS) -------------------------


def test_poisson_weights_follow_poisson_1() -> None:
    assert (streaming._P1_TABLE < 0).sum() > 0  # the resolved bins are exercised
    w = streaming._poisson1(np.random.default_rng(1), (1000, 2000)).ravel()
    assert abs(w.mean() - 1) < 0.003 and abs(w.var() - 1) < 0.006
    for k in range(6):
        pmf = math.exp(-1) / math.factorial(k)
        assert abs(np.mean(w == k) - pmf) < 0.002, k


@pytest.fixture
def blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resample over row blocks at any size, and make the blocks small."""
    monkeypatch.setattr(streaming.assemble, "EXACT_RESAMPLING_MAX_SEGMENTS", 0)
    monkeypatch.setattr(streaming.resampling, "_RESAMPLE_CELLS", 1 << 16)
    monkeypatch.setattr(
        streaming.resampling, "_GROUP_BLOCKS", 1
    )  # several groups: jobs > 1 uses processes


def test_poisson_bootstrap_agrees_with_sacrebleus_within_sampling_noise(
    zh_corpus: tuple[list[Path], dict[str, Path]], blocked: None
) -> None:
    refs, systems = zh_corpus
    opts = StatsOptions(bootstrap=1000, paired="bs")
    exact = evaluate_files(refs, systems, "bleu,chrf", stats=opts)
    poisson = score_files(refs, systems, metrics="bleu,chrf", stats=opts, chunk_size=400)
    assert poisson.testsets[0].stats == {**opts.as_dict(), "method": "poisson"}
    a, b = exact.systems, poisson.systems
    assert (a["score"] == b["score"]).all()
    assert (a["delta"].fillna(0) == b["delta"].fillna(0)).all()
    width = a["ci_high"] - a["ci_low"]
    assert ((a["ci_low"] - b["ci_low"]).abs() < 0.2 * width).all()
    assert ((a["ci_high"] - b["ci_high"]).abs() < 0.2 * width).all()
    assert ((a["p_value"] - b["p_value"]).abs().fillna(0) < 0.05).all()


def test_blocked_draws_do_not_depend_on_chunks_or_processes(
    zh_corpus: tuple[list[Path], dict[str, Path]], blocked: None
) -> None:
    refs, systems = zh_corpus
    opts = StatsOptions(bootstrap=200, paired="ar", pairwise=True, ar_trials=300)
    runs = [
        score_files(refs, systems, metrics="bleu", stats=opts, chunk_size=c, jobs=j)
        for c, j in ((1500, 1), (250, 2), (77, 1))
    ]
    assert comparable(runs[0]) == comparable(runs[1]) == comparable(runs[2])
    seeded = score_files(
        refs, systems, metrics="bleu", stats=StatsOptions(bootstrap=200, seed=1), chunk_size=250
    )
    assert comparable(seeded) != comparable(runs[0])


def test_blocked_randomization_agrees_with_evalkit_stats(
    zh_corpus: tuple[list[Path], dict[str, Path]], blocked: None
) -> None:
    refs, systems = zh_corpus
    near = {"a": systems["sys1"], "b": systems["sys2"], "c": systems["sys1"]}
    opts = StatsOptions(paired="ar", ar_trials=2000, pairwise=True)
    exact = evaluate_files(refs, near, "bleu,chrf", stats=opts)
    got = score_files(refs, near, metrics="bleu,chrf", stats=opts, chunk_size=600)
    a, b = exact.systems, got.systems
    assert ((a["p_value"] - b["p_value"]).abs().fillna(0) < 0.03).all()
    same = got.testsets[0].pairwise["bleu"]["a"]["c"]
    # identical systems: every trial's difference is 0, so they are not tested (no 1/2001 floor)
    assert same.delta == 0 and same.identical and same.p_value is None


# --- the command line -------------------------------------------------------------------------


def test_score_stream_prints_the_in_memory_numbers(fixtures_dir: Path, run_evalkit) -> None:
    args = ["score", "--ref", fixtures_dir / "article.zh", "--metrics", "bleu,chrf"]
    args += ["--format", "json", fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/weak.zh"]
    memory = run_evalkit(*args)
    streamed = run_evalkit(*args, "--stream", "--chunk-size", "5", "--jobs", "1")
    assert memory.returncode == streamed.returncode == 0, streamed.stderr
    loaded = [evalkit.Results.from_json(p.stdout) for p in (memory, streamed)]
    assert comparable(loaded[0]) == comparable(loaded[1])


def test_a_streamed_report_has_the_corpus_views(fixtures_dir: Path, run_evalkit, tmp_path):
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", "--stream", "--report", "r.html",
        "--metrics", "bleu", fixtures_dir / "en-zh/strong.zh", fixtures_dir / "en-zh/weak.zh",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text("utf-8")
    assert "strong" in html and "streamed" in html


def test_big_references_stream_by_default(
    zh_corpus: tuple[list[Path], dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "EXACT_RESAMPLING_MAX_SEGMENTS", 1000)  # the CLI's threshold
    monkeypatch.setattr(streaming.assemble, "EXACT_RESAMPLING_MAX_SEGMENTS", 1000)
    refs, systems = zh_corpus
    args = ["score", "--ref", str(refs[0]), "--metrics", "bleu", "--format", "json"]
    args += ["--bootstrap", "0", "--paired", "none", "--jobs", "1", str(systems["sys0"])]
    result = CliRunner().invoke(cli_main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["testsets"][0]["segment_data"] is None
    assert "1,500 segments: streaming" in result.stderr
    kept = CliRunner().invoke(cli_main, [*args, "--no-stream"])
    assert json.loads(kept.stdout)["testsets"][0]["segment_data"] is not None


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--stream", "--cache", "c"], ["--cache", "--no-stream"]),
        (["--engine", "fast", "--scheduler", "tcp://127.0.0.1:8786"], ["--scheduler", "fast"]),
        (["--engine", "dask", "--no-stream"], ["dask", "--no-stream"]),
        (["--scheduler", "nohost"], ["invalid Dask scheduler address", "tcp://host:port"]),
    ],
)
def test_streaming_usage_errors_are_one_line(
    fixtures_dir: Path, run_evalkit, tmp_path: Path, extra: list[str], words: list[str]
) -> None:
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", *extra, fixtures_dir / "en-zh/strong.zh",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr
    assert not list(tmp_path.iterdir())


def test_score_files_rejects_bad_arguments(zh_corpus: tuple[list[Path], dict[str, Path]]) -> None:
    refs, systems = zh_corpus
    with pytest.raises(ConfigError, match="unknown engine"):
        score_files(refs, systems, engine="spark")
    with pytest.raises(ConfigError, match="chunk size"):
        score_files(refs, systems, chunk_size=0)
    with pytest.raises(ConfigError, match="baseline 'x'"):
        score_files(refs, systems, metrics="bleu", baseline="x")
