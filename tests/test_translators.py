"""Translator-backed systems: suite tables, command and endpoint translators, cache, timing.

Everything runs against real processes on this machine: ``translator_stub.py`` as the command and
``fake_openai_server.py`` (a real HTTP server on 127.0.0.1) as the endpoint. Nothing else is
contacted: proxy variables are cleared so even 127.0.0.1 is reached directly.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAI, fake_translation
from translator_stub import translate as stub_translation

import evalkit
from evalkit.errors import ConfigError, EvalkitError, InputError
from evalkit.translators import (
    DEFAULT_PROMPT,
    TranslationStats,
    TranslatorConfig,
    one_line,
    outputs_current,
    parse_translator,
    translate,
    write_outputs,
)
from evalkit.translators.cache import TranslationCache
from evalkit.translators.work import segment_ranges

STUB = Path(__file__).with_name("translator_stub.py")
SECRET = "sk-test-DO-NOT-LEAK-4f9c1e"
SOURCES = [f"segment number {i} says hello" for i in range(1, 9)]
FAST = {"backoff": 0.01, "timeout": 5}  # keep retries quick


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, no_proxy: None) -> None:
    """No proxy may reroute requests; no stub failure leaks in from the environment."""
    monkeypatch.delenv("STUB_FAIL_ON", raising=False)
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text("# translators are parsed from tables passed directly\n", encoding="utf-8")
    return path


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def stub_command(*flags: str) -> str:
    return shlex.join([sys.executable, str(STUB), *flags])


def command_config(suite: Path, *flags: str, **extra: Any) -> TranslatorConfig:
    return parse_translator("stub", {"command": stub_command(*flags), **extra}, suite_path=suite)


def endpoint_config(suite: Path, server: FakeOpenAI, **extra: Any) -> TranslatorConfig:
    table = {"endpoint": server.url, "model": "fake-mt", "prompt": "{{ source }}", **FAST, **extra}
    return parse_translator("gpt", table, suite_path=suite)


def run(config: TranslatorConfig, sources: list[str], cache: Path, **kw: Any) -> Any:
    return translate(config, sources, source_lang="en", target_lang="zh", cache_dir=cache, **kw)


def log_lines(log: Path) -> list[tuple[float, float, int]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(float(a), float(b), int(n)) for a, b, n in rows]


# --- suite tables ----------------------------------------------------------------------------


def test_command_table_parses_with_defaults(suite: Path) -> None:
    cfg = parse_translator("mymt", {"command": "python tr.py --to en"}, suite_path=suite)
    assert cfg.kind == "command"
    assert cfg.argv == ("python", "tr.py", "--to", "en")
    assert cfg.cwd == suite.parent
    assert cfg.batch_size is None and cfg.timeout is None


def test_endpoint_table_parses_with_defaults(suite: Path) -> None:
    cfg = parse_translator(
        "gpt", {"endpoint": "http://127.0.0.1:8000/v1/", "model": "m"}, suite_path=suite
    )
    assert cfg.kind == "endpoint"
    assert cfg.endpoint == "http://127.0.0.1:8000/v1"  # trailing slash dropped
    assert (cfg.prompt, cfg.temperature, cfg.retries, cfg.timeout) == (DEFAULT_PROMPT, 0, 5, 60)
    assert cfg.api_key_env is None and cfg.max_tokens is None


BAD_TABLES = [
    # (table, words the one-line message must contain)
    ({"command": "x", "endpoint": "http://h/v1"}, ["exactly one of", "command", "endpoint"]),
    ({"model": "m"}, ["exactly one of"]),
    ({"command": "x", "batchsize": 2}, ["unknown key 'batchsize'", "batch_size"]),
    ({"command": "x", "model": "m"}, ["'model'", "only to endpoint"]),
    (
        {"endpoint": "http://h/v1", "model": "m", "batch_size": 2},
        ["'batch_size'", "only to command"],
    ),
    ({"command": "x", "batch_size": 0}, ["batch_size", ">= 1"]),
    ({"command": "x", "batch_size": True}, ["batch_size"]),
    ({"command": "'unbalanced"}, ["command", "split"]),
    ({"command": "  "}, ["command", "non-empty"]),
    ({"endpoint": "127.0.0.1:8000", "model": "m"}, ["endpoint", "http://"]),
    ({"endpoint": "http://h/v1"}, ["missing required key 'model'"]),
    ({"endpoint": "http://h/v1", "model": "m", "temperature": 3}, ["temperature", "between"]),
    ({"endpoint": "http://h/v1", "model": "m", "timeout": 0}, ["timeout", "> 0"]),
    ({"endpoint": "http://h/v1", "model": "m", "retries": -1}, ["retries"]),
    ({"endpoint": "http://h/v1", "model": "m", "prompt": "{{ sorce }}"}, ["prompt", "'sorce'"]),
    ({"endpoint": "http://h/v1", "model": "m", "prompt": "{% if %}"}, ["prompt", "syntax"]),
    ({"endpoint": "http://h/v1", "model": "m", "prompt": "Translate."}, ["prompt", "source"]),
    # a key pasted where its variable's name belongs is refused, and not echoed back
    ({"endpoint": "http://h/v1", "model": "m", "api_key_env": "sk-abc123"}, ["NAME"]),
]


@pytest.mark.parametrize(("table", "words"), BAD_TABLES)
def test_invalid_tables_are_config_errors_naming_file_and_key(
    suite: Path, table: Mapping[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_translator("sys1", table, suite_path=suite)
    message = str(info.value)
    assert message.startswith(f"{suite}: system 'sys1'")
    assert "\n" not in message
    for word in words:
        assert word in message
    assert "sk-abc123" not in message


def test_fingerprint_tracks_outputs_not_logistics(suite: Path) -> None:
    base = {"endpoint": "http://h/v1", "model": "m"}
    fp = parse_translator("a", base, suite_path=suite).fingerprint()
    assert len(fp) == 64 and int(fp, 16) >= 0
    same = [
        {"timeout": 3, "retries": 0, "backoff": 2, "api_key_env": "OTHER_KEY"},
        {"endpoint": "http://h/v1/"},
    ]
    for extra in same:
        other = parse_translator("b", {**base, **extra}, suite_path=suite / "x.toml")
        assert other.fingerprint() == fp, extra
    different = [
        {"model": "m2"},
        {"prompt": "{{ source }}"},
        {"temperature": 0.7},
        {"max_tokens": 100},
        {"endpoint": "http://h2/v1"},
        {"version": "2"},
    ]
    for extra in different:
        assert parse_translator("a", {**base, **extra}, suite_path=suite).fingerprint() != fp


def test_command_fingerprint_ignores_spacing_and_logistics(suite: Path) -> None:
    fp = parse_translator("a", {"command": "tr --to en"}, suite_path=suite).fingerprint()
    spaced = {"command": "tr  '--to'   en", "batch_size": 8, "timeout": 9}
    assert parse_translator("a", spaced, suite_path=suite).fingerprint() == fp
    assert parse_translator("a", {"command": "tr --to zh"}, suite_path=suite).fingerprint() != fp


def test_fingerprint_is_stable_across_processes(suite: Path) -> None:
    code = (
        "from pathlib import Path; from evalkit.translators import parse_translator as p; "
        "t = {'endpoint': 'http://h/v1', 'model': 'm'}; "
        "print(p('a', t, suite_path=Path('s')).fingerprint())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = parse_translator("a", {"endpoint": "http://h/v1", "model": "m"}, suite_path=suite)
    assert out.stdout.strip() == here.fingerprint()


# --- command translators ---------------------------------------------------------------------


def test_command_translates_end_to_end(suite: Path, tmp_path: Path) -> None:
    sources = ["hello world", "", "你好 mixed", "last one"]
    result = run(command_config(suite, "--pad"), sources, tmp_path / "cache")
    assert result.lines == ("HELLO WORLD", "", "你好 MIXED", "LAST ONE")  # padding stripped
    assert result.stats.segments == 4 and result.stats.translated == 4
    assert result.stats.prompt_tokens is None and result.stats.completion_tokens is None


def test_command_runs_in_the_suite_folder(tmp_path: Path) -> None:
    folder = tmp_path / "suites"
    folder.mkdir()
    (folder / "tr.py").write_text(
        "import sys\nfor line in sys.stdin: print('tr:' + line.strip())\n", encoding="utf-8"
    )
    table = {"command": f"{shlex.quote(sys.executable)} tr.py"}
    cfg = parse_translator("local", table, suite_path=folder / "suite.toml")
    assert run(cfg, ["a", "b"], tmp_path / "cache").lines == ("tr:a", "tr:b")


def test_batch_size_starts_one_process_per_batch(suite: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    cfg = command_config(suite, "--log", str(log), batch_size=3)
    result = run(cfg, SOURCES[:7], tmp_path / "cache", jobs=1)
    assert result.lines == tuple(stub_translation(s) for s in SOURCES[:7])
    assert [n for _, _, n in log_lines(log)] == [3, 3, 1]
    assert result.stats.latency_p50_s is not None  # one latency per batch


def test_without_batch_size_one_process_reads_everything(suite: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run(command_config(suite, "--log", str(log)), SOURCES, tmp_path / "cache")
    assert [n for _, _, n in log_lines(log)] == [len(SOURCES)]


def test_command_batches_run_concurrently_up_to_jobs(suite: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    cfg = command_config(suite, "--sleep", "0.3", "--log", str(log), batch_size=1)
    run(cfg, SOURCES[:4], tmp_path / "cache", jobs=2)
    spans = log_lines(log)
    assert len(spans) == 4
    overlap = max(sum(1 for a, b, _ in spans if a <= t < b) for t, _, _ in spans)
    assert overlap == 2


def test_count_mismatch_names_command_and_batch(suite: Path, tmp_path: Path) -> None:
    cfg = command_config(suite, "--drop", "1", batch_size=4)
    with pytest.raises(EvalkitError) as info:
        run(cfg, SOURCES[:4], tmp_path / "cache")
    message = str(info.value)
    assert "system 'stub'" in message and "translator_stub.py" in message
    assert "wrote 3 lines for 4 input segments" in message
    assert "batch 1" in message and "segments 1-4" in message


def test_nonzero_exit_names_status_stderr_and_batch(suite: Path, tmp_path: Path) -> None:
    with pytest.raises(EvalkitError) as info:
        run(command_config(suite, "--fail"), ["a", "b"], tmp_path / "cache")
    message = str(info.value)
    assert "exited with status 3: stub: told to fail" in message
    assert "(batch 1, segments 1-2)" in message and str(suite) in message


def test_missing_program_is_a_clear_error(suite: Path, tmp_path: Path) -> None:
    cfg = parse_translator("x", {"command": "no-such-translator-xyz --to en"}, suite_path=suite)
    with pytest.raises(EvalkitError, match="no-such-translator-xyz.*cannot be started"):
        run(cfg, ["a"], tmp_path / "cache")


def test_command_timeout_kills_the_process(suite: Path, tmp_path: Path) -> None:
    cfg = command_config(suite, "--sleep", "5", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(EvalkitError, match=r"did not finish within 0\.3 s"):
        run(cfg, ["a"], tmp_path / "cache")
    assert time.monotonic() - started < 3


def test_line_break_in_a_source_is_refused_for_commands(suite: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="source segment 2 contains a line break"):
        run(command_config(suite), ["a", "b\rc"], tmp_path / "cache")


def test_failed_batch_keeps_finished_batches_and_rerun_does_the_rest(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, cache = tmp_path / "log", tmp_path / "cache"
    sources = ["a1", "a2", "b1", "b2", "c1 boom", "c2", "d1"]
    cfg = command_config(suite, "--log", str(log), batch_size=2)
    monkeypatch.setenv("STUB_FAIL_ON", "boom")  # the environment is not part of the fingerprint
    with pytest.raises(EvalkitError, match=r"status 4.*\(batch 3, segments 5-6\)"):
        run(cfg, sources, cache, jobs=1)
    monkeypatch.delenv("STUB_FAIL_ON")
    log.unlink()
    result = run(cfg, sources, cache, jobs=1)
    assert result.lines == tuple(stub_translation(s) for s in sources)
    assert (result.stats.translated, result.stats.from_cache) == (3, 4)
    assert [n for _, _, n in log_lines(log)] == [2, 1]  # only c1, c2 and d1 were sent


# --- endpoint translators --------------------------------------------------------------------


def test_endpoint_translates_end_to_end_with_usage(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cfg = endpoint_config(suite, server, api_key_env="EVALKIT_TEST_KEY", max_tokens=64)
    result = run(cfg, SOURCES, tmp_path / "cache")
    assert result.lines == tuple(fake_translation(s) for s in SOURCES)
    assert result.stats.prompt_tokens == sum(len(s.split()) for s in SOURCES)
    assert result.stats.completion_tokens == sum(len(fake_translation(s).split()) for s in SOURCES)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    body = request["body"]
    assert body["model"] == "fake-mt" and body["temperature"] == 0 and body["max_tokens"] == 64
    assert body["messages"] == [{"role": "user", "content": body["messages"][0]["content"]}]
    assert sorted(server.user_messages()) == sorted(SOURCES)  # the prompt is "{{ source }}"


def test_default_prompt_names_the_languages(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cfg = parse_translator("gpt", {"endpoint": server.url, "model": "m"}, suite_path=suite)
    translate(cfg, ["你好"], source_lang="zh", target_lang="en", cache_dir=tmp_path / "c")
    (message,) = server.user_messages()
    assert "Chinese" in message and "English" in message and message.endswith("你好")
    assert "Authorization" not in server.requests[0]["headers"]  # no api_key_env, no header


def test_missing_usage_gives_none_token_counts(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    server.behavior.usage = False
    stats = run(endpoint_config(suite, server), SOURCES[:2], tmp_path / "cache").stats
    assert stats.prompt_tokens is None and stats.completion_tokens is None


def test_translations_are_made_one_line(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    server.behavior.multiline = True
    result = run(endpoint_config(suite, server), ["abcdef", "xy"], tmp_path / "cache")
    assert result.lines == ("[ABC DEF]", "[X Y]")
    assert one_line("  a \r\n\n b\u2028c  ") == "a b c"


def test_blank_segments_are_not_sent(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    result = run(endpoint_config(suite, server), ["a", "", "   ", "b"], tmp_path / "cache")
    assert result.lines == ("[A]", "", "", "[B]")
    assert sorted(server.user_messages()) == ["a", "b"]


def test_repeated_sources_are_requested_once(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    result = run(endpoint_config(suite, server), ["same", "other", "same"], tmp_path / "cache")
    assert result.lines == ("[SAME]", "[OTHER]", "[SAME]")
    assert sorted(server.user_messages()) == ["other", "same"]
    assert result.stats.translated == 3


@pytest.mark.parametrize(
    "faults",
    [
        ["429", "429", "500"],  # rate limited, then a server error
        ["drop", "drop"],  # connection closed without an answer
        ["malformed"],  # truncated JSON
        ["503", "malformed", "drop", "502"],  # a bad day
    ],
)
def test_transient_failures_are_retried_then_succeed(
    suite: Path, server: FakeOpenAI, tmp_path: Path, faults: list[str]
) -> None:
    server.behavior.faults = list(faults)
    result = run(endpoint_config(suite, server), ["only"], tmp_path / "cache", jobs=1)
    assert result.lines == ("[ONLY]",)
    assert len(server.requests) == len(faults) + 1


def test_failure_after_last_retry_names_the_segment_and_the_failure(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    server.behavior.fail_on = "poison"
    server.behavior.echo_auth = True  # a hostile server echoes the key back
    cfg = endpoint_config(suite, server, retries=2, api_key_env="EVALKIT_TEST_KEY")
    with pytest.raises(EvalkitError) as info:
        run(cfg, ["fine", "also fine", "poison pill", "fine too"], tmp_path / "cache", jobs=1)
    message = str(info.value)
    assert "system 'gpt': segment 3:" in message
    assert "failed after 3 attempts" in message and "HTTP 500" in message
    assert SECRET not in message and "***" in message
    assert server.user_messages().count("poison pill") == 3
    assert "\n" not in message


def test_segment_ranges_are_compact() -> None:
    assert segment_ranges((1, 2, 3, 7)) == "1-3, 7"
    assert segment_ranges((5,)) == "5"
    assert segment_ranges((1, 3, 5, 7, 9, 11)) == "1, 3, 5, 7, …"


def test_timeouts_are_retried_and_reported(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    server.behavior.delay = 1.0
    cfg = endpoint_config(suite, server, timeout=0.2, retries=1)
    with pytest.raises(EvalkitError, match="segment 1: .*failed after 2 attempts.*Timeout"):
        run(cfg, ["slow"], tmp_path / "cache")


def test_client_errors_are_not_retried(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    server.behavior.faults = ["401"]
    server.behavior.echo_auth = True
    cfg = endpoint_config(suite, server, api_key_env="EVALKIT_TEST_KEY")
    with pytest.raises(EvalkitError) as info:
        run(cfg, ["x"], tmp_path / "cache")
    message = str(info.value)
    assert "HTTP 401 (not retried)" in message and "$EVALKIT_TEST_KEY" in message
    assert SECRET not in message
    assert len(server.requests) == 1


def test_unset_key_variable_is_a_config_error(
    suite: Path, server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALKIT_TEST_KEY")
    cfg = endpoint_config(suite, server, api_key_env="EVALKIT_TEST_KEY")
    with pytest.raises(ConfigError, match="EVALKIT_TEST_KEY .*is not set"):
        run(cfg, ["x"], tmp_path / "cache")
    assert server.requests == []


@pytest.mark.parametrize(("jobs", "delay"), [(1, 0.03), (3, 0.15)])
def test_concurrency_is_bounded_by_jobs(
    suite: Path, server: FakeOpenAI, tmp_path: Path, jobs: int, delay: float
) -> None:
    server.behavior.delay = delay  # long enough for all workers to overlap on a busy machine
    result = run(endpoint_config(suite, server), SOURCES, tmp_path / "cache", jobs=jobs)
    assert server.max_in_flight == jobs
    assert len(result.lines) == len(SOURCES)


def test_key_never_reaches_cache_or_outputs(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cfg = endpoint_config(suite, server, api_key_env="EVALKIT_TEST_KEY")
    result = run(cfg, SOURCES, cache)
    out = tmp_path / "outputs" / "gpt.zh"
    write_outputs(out, result, cfg, SOURCES, source_lang="en", target_lang="zh")
    files = [p for p in [*cache.rglob("*"), *out.parent.rglob("*")] if p.is_file()]
    assert len(files) == 3
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in repr(cfg) and SECRET not in cfg.fingerprint()


# --- cache, interruption, refresh ------------------------------------------------------------


def test_second_run_is_served_from_cache(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    first = run(cfg, SOURCES, cache)
    sent = len(server.requests)
    second = run(cfg, SOURCES, cache)
    assert second.lines == first.lines
    assert (second.stats.translated, second.stats.from_cache) == (0, len(SOURCES))
    assert len(server.requests) == sent
    assert second.stats.segments_per_s is None and second.stats.latency_p50_s is None
    assert second.stats.prompt_tokens is None


def test_cache_is_per_translator_and_language_pair(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    run(endpoint_config(suite, server), SOURCES[:2], cache)
    assert run(endpoint_config(suite, server, timeout=9), SOURCES[:2], cache).stats.from_cache == 2
    assert run(endpoint_config(suite, server, model="m2"), SOURCES[:2], cache).stats.translated == 2
    other_pair = translate(
        endpoint_config(suite, server), SOURCES[:2], source_lang="zh", target_lang="en",
        cache_dir=cache,
    )  # fmt: skip
    assert other_pair.stats.translated == 2


def test_refresh_retranslates_and_replaces_cached_entries(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    run(cfg, SOURCES[:3], cache)
    server.behavior.suffix = " v2"
    refreshed = run(cfg, SOURCES[:3], cache, refresh=True)
    assert refreshed.stats.translated == 3 and refreshed.stats.from_cache == 0
    assert refreshed.lines == tuple(fake_translation(s, " v2") for s in SOURCES[:3])
    again = run(cfg, SOURCES[:3], cache)  # the refreshed entries win over the old ones
    assert again.lines == refreshed.lines and again.stats.from_cache == 3


def test_interrupt_mid_run_keeps_finished_segments(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    seen: list[tuple[int, int]] = []

    def ctrl_c_after_three(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(cfg, SOURCES, cache, jobs=1, progress=ctrl_c_after_three)
    assert seen == [(0, 8), (1, 8), (2, 8), (3, 8)]
    server.requests.clear()
    result = run(cfg, SOURCES, cache, jobs=1)
    assert (result.stats.from_cache, result.stats.translated) == (3, 5)
    assert sorted(server.user_messages()) == sorted(SOURCES[3:])
    assert result.lines == tuple(fake_translation(s) for s in SOURCES)


def test_killed_process_loses_only_segments_in_flight(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    server.behavior.delay = 0.05
    sources = [f"line {i}" for i in range(40)]
    table = {"endpoint": server.url, "model": "fake-mt", "prompt": "{{ source }}"}
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from evalkit.translators import parse_translator, translate
        cfg = parse_translator("gpt", {table!r}, suite_path=Path({str(suite)!r}))
        translate(cfg, {sources!r}, source_lang="en", target_lang="zh",
                  cache_dir=Path({str(cache)!r}), jobs=2)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    cfg = endpoint_config(suite, server)
    store = TranslationCache(cache, cfg.fingerprint(), cfg.describe())
    deadline = time.monotonic() + 15
    while len(store.load()) < 6 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    kept = len(store.load())
    assert 6 <= kept < len(sources)
    with store.path.open("ab") as fh:
        fh.write(b'{"k":"torn-rec')  # as if the kill had landed mid-write
    server.requests.clear()
    result = run(cfg, sources, cache)
    assert (result.stats.from_cache, result.stats.translated) == (kept, len(sources) - kept)
    assert len(server.requests) == len(sources) - kept
    assert result.lines == tuple(fake_translation(s) for s in sources)
    assert run(cfg, sources, cache).stats.from_cache == len(sources)  # appends after the torn line


def test_damaged_cache_lines_are_ignored(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    run(cfg, SOURCES[:4], cache)
    path = TranslationCache(cache, cfg.fingerprint(), "").path
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"\x00garbage{"  # the second record
    path.write_bytes(b"\n".join(lines))
    result = run(cfg, SOURCES[:4], cache)
    assert (result.stats.from_cache, result.stats.translated) == (3, 1)
    header = json.loads(lines[0])
    assert header["fingerprint"] == cfg.fingerprint() and "fake-mt" in header["translator"]


# --- timing and outputs ----------------------------------------------------------------------


def test_latency_and_throughput_are_sane(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    server.behavior.delay = 0.05
    result = run(endpoint_config(suite, server), SOURCES, tmp_path / "cache", jobs=2)
    s = result.stats
    assert isinstance(s, TranslationStats)
    assert (s.segments, s.translated, s.from_cache) == (8, 8, 0)
    assert 0.05 <= s.latency_p50_s <= s.latency_p95_s < 2
    assert s.wall_time_s >= 4 * 0.05  # 8 requests, 2 at a time
    assert s.segments_per_s == pytest.approx(8 / s.wall_time_s)
    assert s.chars_per_s == pytest.approx(sum(map(len, SOURCES)) / s.wall_time_s)
    assert s.segments_per_s <= 2 / 0.05  # cannot beat jobs / latency
    as_dict = s.to_dict()
    assert set(as_dict) == {
        "segments", "translated", "from_cache", "wall_time_s", "segments_per_s", "chars_per_s",
        "latency_p50_s", "latency_p95_s", "prompt_tokens", "completion_tokens",
    }  # fmt: skip
    json.dumps(as_dict)


def test_progress_counts_up_to_total(suite: Path, server: FakeOpenAI, tmp_path: Path) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    run(cfg, SOURCES[:2], cache)
    seen: list[tuple[int, int]] = []
    run(cfg, SOURCES, cache, jobs=3, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (2, 8) and seen[-1] == (8, 8)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bad_jobs_is_a_config_error(suite: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="jobs"):
        run(command_config(suite), ["a"], tmp_path / "cache", jobs=0)


def test_written_outputs_are_current_until_something_changes(suite: Path, tmp_path: Path) -> None:
    cfg, out = command_config(suite), tmp_path / "out" / "stub.zh"
    langs = {"source_lang": "en", "target_lang": "zh"}
    assert not outputs_current(out, cfg, SOURCES, **langs)
    result = run(cfg, SOURCES, tmp_path / "cache")
    write_outputs(out, result, cfg, SOURCES, **langs)
    assert out.read_text(encoding="utf-8").splitlines() == list(result.lines)
    assert outputs_current(out, cfg, SOURCES, **langs)
    assert not outputs_current(out, cfg, [*SOURCES[:-1], "changed"], **langs)
    assert not outputs_current(out, cfg, SOURCES, source_lang="en", target_lang="en")
    assert not outputs_current(out, command_config(suite, "--pad"), SOURCES, **langs)
    out.write_text("truncated\n", encoding="utf-8")
    assert not outputs_current(out, cfg, SOURCES, **langs)


def test_public_names_are_exactly_the_exported_ones() -> None:
    import evalkit.translators as pkg

    public = sorted(n for n in vars(pkg) if not n.startswith("_") and n != "annotations")
    modules = {"cache", "command", "config", "endpoint", "outputs", "prompt", "runner", "timing"}
    assert sorted(pkg.__all__) == sorted(set(public) - modules - {"work"})


# --- hostile translators and caches (issue 13) -----------------------------------------------


def test_endpoint_timeout_covers_the_whole_answer_not_each_read(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    # why: a server sending one byte every 0.1 s never trips a per-read timeout of 1 s, so a
    # request could outlive its timeout for as long as the server liked
    server.behavior.trickle = 0.1
    cfg = endpoint_config(suite, server, timeout=1, retries=0)
    started = time.monotonic()
    with pytest.raises(EvalkitError, match=r"segment 1: .*not complete within 1 s"):
        run(cfg, ["a sentence long enough that its answer takes many seconds to trickle"], tmp_path)
    assert time.monotonic() - started < 10  # safety net only: the answer trickles for ~15 s


def test_command_timeout_kills_children_holding_stdout(suite: Path, tmp_path: Path) -> None:
    # why: communicate() waits for end of file, which a grandchild holding stdout delays until
    # it exits; killing only the command left it running past the timeout
    marker = tmp_path / "grandchild-survived"
    script = tmp_path / "spawner.sh"
    script.write_text(f"(sleep 3; echo alive > '{marker}') &\nexit 0\n", encoding="utf-8")
    cfg = parse_translator("spawner", {"command": f"sh {script}", "timeout": 0.3}, suite_path=suite)
    with pytest.raises(EvalkitError, match=r"did not finish within 0\.3 s"):
        run(cfg, ["a"], tmp_path / "cache")
    # had the grandchild lived, the error would only come after it wrote the marker and exited
    assert not marker.exists()


def test_cache_record_with_a_changed_byte_is_translated_again(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    first = run(cfg, SOURCES[:3], cache)
    path = TranslationCache(cache, cfg.fingerprint(), "").path
    stored = path.read_bytes()
    assert b"SEGMENT NUMBER 2 SAYS HELLO" in stored
    path.write_bytes(stored.replace(b"NUMBER 2 SAYS", b"NUMBER 2 SAYZ"))  # still valid JSON
    with pytest.warns(UserWarning, match=r"1 translation cache record\(s\) failed their checksum"):
        second = run(cfg, SOURCES[:3], cache)
    assert second.lines == first.lines
    assert (second.stats.from_cache, second.stats.translated) == (2, 1)
    assert server.user_messages()[-1] == SOURCES[1]


def test_cache_records_without_checksum_are_translated_again(
    suite: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    # why: an older evalkit wrote no checksum; such a record cannot be trusted, but must not fail
    cfg, cache = endpoint_config(suite, server), tmp_path / "cache"
    first = run(cfg, SOURCES[:2], cache)
    path = TranslationCache(cache, cfg.fingerprint(), "").path
    lines = path.read_text(encoding="utf-8").splitlines()
    old = [lines[0]] + [
        json.dumps({k: v for k, v in json.loads(ln).items() if k != "c"}) for ln in lines[1:]
    ]
    path.write_text("\n".join(old) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="2 translation cache record"):
        again = run(cfg, SOURCES[:2], cache)
    assert again.lines == first.lines and again.stats.translated == 2
    assert run(cfg, SOURCES[:2], cache).stats.from_cache == 2  # re-stored with checksums


@pytest.mark.parametrize("name", ["../../../../x", "/tmp/x", "a/b", ".hidden", ""])
def test_testset_names_that_leave_the_output_folder_are_refused(tmp_path: Path, name: str) -> None:
    # why: the test set name is a folder under reports/<suite>/outputs/, so "../x" wrote a
    # command translator's outputs outside reports/
    (tmp_path / "ref.en").write_text("hello\n", encoding="utf-8")
    (tmp_path / "src.zh").write_text("你好\n", encoding="utf-8")
    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(
        "[suite]\n"
        'name = "s"\n\n'
        "[[testsets]]\n"
        f"name = {json.dumps(name)}\n"
        'lang = "en"\n'
        'source = "src.zh"\n'
        'refs = ["ref.en"]\n\n'
        "[testsets.systems]\n"
        f"stub = {{ command = {json.dumps(stub_command())} }}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="invalid test set name") as err:
        evalkit.load_suite(suite_file)
    assert str(err.value).startswith(f"{suite_file}:5: ")
    assert not any(p.is_dir() for p in tmp_path.iterdir())
