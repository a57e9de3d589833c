"""The Dask engine: the local engine's numbers and errors, on a real multi-process cluster.

One ``LocalCluster`` (two single-threaded worker processes) serves the whole module; tasks read
the files themselves, so every test also checks that nothing but byte ranges travels to them.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

dist = pytest.importorskip(
    "distributed", reason="dask[distributed] is not installed (pip install 'evalkit[dask]')"
)

from test_streaming import comparable, write_corpus  # noqa: E402

import evalkit  # noqa: E402
from evalkit import distributed as ek_dist  # noqa: E402
from evalkit.errors import ConfigError, EvalkitError, InputError  # noqa: E402
from evalkit.evaluation import StatsOptions  # noqa: E402
from evalkit.streaming import ChunkFailure, score_files  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    # dashboard on a free port: None would still bind 8787 (clashes with any other cluster)
    with (
        dist.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        dist.Client(cluster, set_as_default=False) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Path]]:
    return write_corpus(tmp_path_factory.mktemp("zh"), 1500, "zh")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fixtures_score_as_the_local_engine_and_evaluate(client, fixtures_dir: Path) -> None:
    ts = evalkit.load_testset(
        str(fixtures_dir / "article.zh"),
        {n: str(fixtures_dir / "en-zh" / f"{n}.zh") for n in ("strong", "weak", "traditional")},
    )
    opts = StatsOptions(bootstrap=300, paired="bs")
    expected = evalkit.evaluate(ts, "bleu,chrf,ter", stats=opts)
    kw = {"metrics": "bleu,chrf,ter", "stats": opts, "chunk_size": 5}
    local = score_files(ts.paths["ref0"], _paths(ts), **kw)
    remote = score_files(ts.paths["ref0"], _paths(ts), engine="dask", client=client, **kw)
    assert comparable(remote) == comparable(local) == comparable(expected)


def _paths(ts: evalkit.TestSet) -> dict[str, str]:
    return {k.split(":", 1)[1]: v for k, v in ts.paths.items() if k.startswith("system:")}


def test_generated_data_scores_as_the_local_engine(client, corpus) -> None:
    refs, systems = corpus
    opts = StatsOptions(bootstrap=200, paired="ar", pairwise=True, ar_trials=300)
    kw = {"metrics": "bleu,chrf++", "stats": opts, "chunk_size": 200}
    local = score_files(refs, systems, **kw)
    remote = score_files(refs, systems, engine="dask", client=client, **kw)
    assert comparable(remote) == comparable(local)


def test_a_worker_killed_mid_run_changes_nothing(client, tmp_path: Path) -> None:
    refs, systems = write_corpus(tmp_path, 4000, "zh", systems=1, seed=3)
    kw = {"metrics": "bleu,chrf++,ter", "chunk_size": 200}  # 20 tasks of ~0.1 s
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_once(description: str, done: int, total: int) -> None:
        if not killed and done < total:  # the first chunk is back; both workers are busy
            victim = next(iter(pids.values()))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    remote = score_files(refs, systems, engine="dask", client=client, progress=kill_once, **kw)
    assert killed and killed[0] not in client.run(os.getpid).values()
    assert client.run_on_scheduler(_rerun_tasks)  # the dead worker's tasks ran again
    assert comparable(remote) == comparable(score_files(refs, systems, **kw))


def _rerun_tasks(dask_scheduler) -> list[str]:  # noqa: ANN001 - runs on the scheduler
    """Keys of evalkit tasks that were sent to a worker more than once."""
    starts: dict[str, int] = {}
    for record in dask_scheduler.transition_log:
        key, finish = str(record[0]), record[2]
        if key.startswith("evalkit-chunk") and finish == "processing":
            starts[key] = starts.get(key, 0) + 1
    return [k for k, n in starts.items() if n > 1]


def test_bad_input_in_a_chunk_is_the_local_engines_one_line_error(client, tmp_path: Path) -> None:
    refs, systems = write_corpus(tmp_path, 1500, "zh", seed=5)
    for name, line in (("sys2", 777), ("sys1", 1234)):  # sys2's error comes first
        data = systems[name].read_bytes().split(b"\n")
        data[line - 1] = b"\xff" + data[line - 1]
        systems[name].write_bytes(b"\n".join(data))
    kw = {"metrics": "bleu", "chunk_size": 100}
    with pytest.raises(InputError) as local:
        score_files(refs, systems, **kw)
    with pytest.raises(InputError) as remote:
        score_files(refs, systems, engine="dask", client=client, **kw)
    assert str(remote.value) == str(local.value)
    assert str(local.value).startswith(f"{systems['sys2']}:777: invalid UTF-8 (byte 0xff)")


def test_errors_cross_process_boundaries_intact() -> None:
    err = InputError("invalid UTF-8 (byte 0xff); the file must be UTF-8 encoded", "a/b.zh", 7)
    back = pickle.loads(pickle.dumps(ChunkFailure(3, 1, err)))
    assert type(back.error) is InputError and str(back.error) == str(err)
    assert (back.error.path, back.error.line, back.error.message) == ("a/b.zh", 7, err.message)


def test_an_unreachable_scheduler_is_an_error_within_the_timeout(corpus) -> None:
    refs, systems = corpus
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(EvalkitError, match=f"cannot reach the Dask scheduler at {address}"):
        score_files(refs, systems, metrics="bleu", engine="dask", scheduler=address, timeout=1.5)
    assert time.monotonic() - start < 6


def test_cli_runs_on_an_existing_scheduler(client, corpus, run_evalkit) -> None:
    refs, systems = corpus
    args = ["score", "--ref", refs[0], "--metrics", "bleu,chrf", "--format", "json"]
    args += ["--chunk-size", "300", *systems.values()]
    local = run_evalkit(*args, "--stream", "--jobs", "1")
    remote = run_evalkit(*args, "--scheduler", client.scheduler.address)
    assert remote.returncode == 0, remote.stderr
    assert comparable(evalkit.Results.from_json(remote.stdout)) == comparable(
        evalkit.Results.from_json(local.stdout)
    )


def test_cli_unreachable_scheduler_is_exit_2_with_one_line(fixtures_dir: Path, run_evalkit):
    proc = run_evalkit(
        "score", "--ref", fixtures_dir / "article.zh", "--scheduler",
        f"tcp://127.0.0.1:{_closed_port()}", "--scheduler-timeout", "1",
        fixtures_dir / "en-zh/strong.zh",
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cannot reach the Dask scheduler" in proc.stderr


def test_connect_starts_and_closes_a_local_cluster() -> None:
    with ek_dist.connect(n_workers=1, timeout=30) as session:
        assert session.local and session.address.startswith("tcp://")
        assert sum(session.client.run(lambda: 1).values()) == 1
    assert session.client.status == "closed"


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ConfigError, match=r"pip install 'evalkit\[dask\]'"):
        with ek_dist.connect():
            pass
