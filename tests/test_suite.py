"""suite.toml → SuiteConfig: validated on load, every problem a one-line ConfigError."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import evalkit
from evalkit.errors import ConfigError, EvalkitError, InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def suite_text(extra_suite: str = "", testset: str | None = None, top: str = "") -> str:
    """A small valid suite over the bundled files (absolute paths), with optional edits."""
    ts = testset or (
        f'name = "en-zh"\nlang = "zh"\nrefs = ["{FIXTURES / "article.zh"}"]\n'
        f'source = "{FIXTURES / "article.en"}"\n'
        f'[testsets.systems]\nstrong = "{FIXTURES / "en-zh/strong.zh"}"\n'
        f'weak = "{FIXTURES / "en-zh/weak.zh"}"\n'
    )
    return f'{top}[suite]\nname = "mini"\n{extra_suite}\n[[testsets]]\n{ts}'


def write_suite(tmp_path: Path, text: str, name: str = "suite.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_suite_loads_with_paths_relative_to_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # not the repository: paths must resolve against the suite file
    suite = evalkit.load_suite(FIXTURES / "suite.toml")
    raw = tomllib.loads((FIXTURES / "suite.toml").read_text(encoding="utf-8"))
    assert suite.name == raw["suite"]["name"] == "seed-article"
    assert suite.metrics == tuple(raw["suite"]["metrics"])
    assert suite.normalize == "auto"
    assert [t.name for t in suite.testsets] == [t["name"] for t in raw["testsets"]]
    for spec, declared in zip(suite.testsets, raw["testsets"], strict=True):
        assert spec.refs == tuple(FIXTURES / r for r in declared["refs"])
        assert {s.name: s.path for s in spec.systems} == {
            k: FIXTURES / v for k, v in declared["systems"].items()
        }
        assert spec.baseline == declared["baseline"]
        ts = spec.load()
        assert ts.n_segments == 12 and ts.lang == declared["lang"]
    assert suite.output_dir == Path("reports") / "seed-article"


def test_a_suite_file_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_bytes(b"\xef\xbb\xbf" + suite_text().encode())
    assert evalkit.load_suite(path).name == "mini"


@pytest.mark.parametrize(
    "text",
    [
        # why: a bare word where a string is expected
        pytest.param(suite_text('metrics = [bleu, chrf]\nnormalize = "auto"'), id="bare-word"),
        # why: a key given twice
        pytest.param(suite_text("punct = true\npunct = false"), id="duplicate-key"),
        # why: an unterminated string
        pytest.param(suite_text('normalize = "auto\npunct = true'), id="unterminated-string"),
    ],
)
def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path, text: str) -> None:
    path = write_suite(tmp_path, text)
    with pytest.raises(tomllib.TOMLDecodeError) as toml_error:
        tomllib.loads(text)
    where = re.search(r"at line (\d+), column (\d+)", str(toml_error.value))
    assert where, "this case must be a mid-file error"
    line, col = int(where.group(1)), int(where.group(2))
    with pytest.raises(ConfigError) as info:
        evalkit.load_suite(path)
    err = info.value
    assert (err.path, err.line, err.column) == (str(path), line, col)
    assert str(err).startswith(f"{path}:{line}:{col}: TOML syntax error")
    assert "\n" not in str(err)


def test_a_toml_syntax_error_at_the_end_of_the_file_still_names_a_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, suite_text() + "extra = [\n")
    with pytest.raises(ConfigError) as info:
        evalkit.load_suite(path)
    # tomllib says only "at end of document": the error points at the file's last line
    assert info.value.line == len(path.read_text(encoding="utf-8").splitlines())
    assert str(info.value).endswith("at end of file")


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        # why: a typo in a reference path
        pytest.param(lambda t: t.replace("article.zh", "article.zhh"), "article.zhh", id="ref"),
        # why: a system output that has not been generated yet
        pytest.param(lambda t: t.replace("weak.zh", "weaker.zh"), "weaker.zh", id="system"),
        # why: a typo in the source path
        pytest.param(lambda t: t.replace("article.en", "article.eng"), "article.eng", id="source"),
    ],
)
def test_a_suite_naming_files_that_do_not_exist_is_a_config_error(
    tmp_path: Path, edit, missing: str
) -> None:
    path = write_suite(tmp_path, edit(suite_text()))
    with pytest.raises(ConfigError) as info:
        evalkit.load_suite(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and missing in msg and "does not exist" in msg


def test_a_relative_path_is_resolved_against_the_suite_file_not_the_cwd(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    text = suite_text().replace(str(FIXTURES / "en-zh/weak.zh"), "weak.zh")
    path = write_suite(tmp_path / "sub", text)
    (tmp_path / "sub" / "weak.zh").write_bytes((FIXTURES / "en-zh/weak.zh").read_bytes())
    spec = evalkit.load_suite(path).testsets[0]
    assert spec.systems[1].path == tmp_path / "sub" / "weak.zh"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # why: a typo in a key must never silently change an evaluation
        pytest.param(suite_text("normalise = 'none'"), "unknown key 'normalise'", id="suite-key"),
        pytest.param(suite_text(top="verbose = true\n"), "unknown key 'verbose'", id="top-key"),
        pytest.param(
            suite_text(testset=f'name = "t"\nref = ["{FIXTURES / "article.zh"}"]\n'),
            "unknown key 'ref'",
            id="testset-key",
        ),
        # why: wrong value types are caught on load, not deep in a run
        pytest.param(suite_text('punct = "yes"'), "punct must be a bool", id="bool-type"),
        pytest.param(suite_text("bootstrap = true"), "must be a number", id="bool-as-int"),
        # why: an unknown metric, OpenCC config or tokenizer in a suite must name the suite file
        pytest.param(
            suite_text('metrics = ["bleu", "bertscore"]'),
            "unknown metric",
            id="metric",
        ),
        pytest.param(
            suite_text('normalize = "t2x"'),
            "unknown OpenCC config",
            id="normalize",
        ),
        pytest.param(
            suite_text('tokenize = "13b"'),
            "unknown tokenizer",
            id="tokenize",
        ),
        # why: evalkit is zh<->en only
        pytest.param(suite_text().replace('lang = "zh"', 'lang = "ja"'), "lang must be", id="lang"),
        # why: the baseline must be one of the test set's systems
        pytest.param(
            suite_text().replace("source =", 'baseline = "nobody"\nsource ='),
            "baseline 'nobody'",
            id="baseline",
        ),
        # why: a system name becomes a table row and a CSV value
        pytest.param(
            suite_text().replace("weak = ", '"weak one" = '), "invalid system name", id="sysname"
        ),
        # why: nothing to evaluate
        pytest.param('[suite]\nname = "x"\n', "no [[testsets]]", id="no-testsets"),
        # why: results are keyed by test set name
        pytest.param(
            suite_text() + "\n[[testsets]]\n" + suite_text().split("[[testsets]]\n")[1],
            "duplicate test set name 'en-zh'",
            id="duplicate-testset",
        ),
    ],
)
def test_an_invalid_suite_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write_suite(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        evalkit.load_suite(path)
    assert info.value.path == str(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d / "nope.toml", id="missing"),  # why: a typo in the suite path
        pytest.param(lambda d: d, id="directory"),  # why: `evalkit run fixtures/` by mistake
    ],
)
def test_a_suite_path_that_is_not_a_file_is_a_config_error(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    with pytest.raises(ConfigError) as info:
        evalkit.load_suite(path)
    assert info.value.path == str(path)


def test_a_suite_whose_files_do_not_line_up_fails_on_load_naming_the_file(tmp_path: Path) -> None:
    short = tmp_path / "short.zh"
    short.write_text("一\n二\n", encoding="utf-8")
    path = write_suite(tmp_path, suite_text().replace(str(FIXTURES / "en-zh/weak.zh"), str(short)))
    spec = evalkit.load_suite(path).testsets[0]
    with pytest.raises(InputError) as info:
        spec.load()
    assert info.value.path == str(short)
    assert isinstance(info.value, EvalkitError)


def test_command_line_overrides_replace_only_what_was_given(tmp_path: Path) -> None:
    suite = evalkit.load_suite(
        write_suite(tmp_path, suite_text('normalize = "none"\npunct = true'))
    )
    over = suite.with_overrides(normalize="t2s", punct=None, metrics=None)
    assert (over.normalize, over.punct, over.metrics) == ("t2s", True, suite.metrics)


def test_every_suite_command_defaults_to_the_loaders_default_suite() -> None:
    # the CLI spells the default out (importing evalkit.suite would slow `--help`): keep them equal
    import click

    from evalkit.cli import main
    from evalkit.suite import DEFAULT_SUITE

    ctx = click.Context(main)
    for name in ("run", "translate", "gate", "baseline"):
        (arg,) = [p for p in main.get_command(ctx, name).params if p.name == "suite_path"]
        assert Path(arg.default) == DEFAULT_SUITE, name
