"""Loop operations benchmark: crash loop, two workers, observe on S3 vs a local folder.

Run: ``python benchmarks/bench_loop_ops.py`` (from the repository root, with
``PYTHONPATH=src:.``; about 10 minutes on a shared 2-core machine). Measures:

1. **crash loop**: a worker process SIGKILLs itself right after its k-th write (every
   write of one ``observe`` that retrains and promotes, k = 0 … all), on a local
   folder. After each kill a fresh loop must find the alias, the registry and the
   events in agreement, every registered version named by an event, the events
   numbered without gap or duplicate; then the next ``observe`` must promote. Counts
   how each kill was recorded.
2. **two workers**: P processes × n clean batches on one loop, each retrying a batch
   on ``LoopBusyError``. Counts duplicate numbers, batches decided twice, busy
   retries, gaps.
3. **observe, S3 vs local**: the same loop (a validated, monitored, scored and stored
   labelled batch of 80 rows that changes nothing) on a local folder and on S3 (a
   moto server in its own process), in interleaved rounds; the median seconds per
   ``observe`` of each round, the median over rounds, and their ratio. Then, after
   all events, the time to open the loop afresh (state from the newest checkpoint)
   and to read one page of 50 events.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.loop import test_crash  # noqa: E402
from tests.loop.test_loop import make_data, make_loop, observe  # noqa: E402

from mlopskit.drift import TabularDrift  # noqa: E402
from mlopskit.loop import Monitor  # noqa: E402


def crash_loop(workdir: Path) -> dict[str, Any]:
    template = workdir / "crash-template"
    make_loop(str(template)).bootstrap(make_data(600, seed=1))
    probe = workdir / "crash-probe"
    shutil.copytree(template, probe)
    writes = test_crash._writes(str(probe), {})
    outcomes: dict[str, int] = {}
    for k in range(len(writes) + 1):
        trial = workdir / f"crash-{k}"
        shutil.copytree(template, trial)
        outcome = test_crash._crash_and_recover(str(trial), {}, k)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        shutil.rmtree(trial)
    return {"kills": len(writes) + 1, "consistent": len(writes) + 1, **outcomes}


def two_workers(workdir: Path, processes: int, n: int, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    total = {"runs": rounds, "duplicates": 0, "twice": 0, "gaps": 0, "busy": 0}
    for r in range(rounds):
        url = str(workdir / f"workers-{r}")
        make_loop(url).bootstrap(make_data(600, seed=1))
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.loop.crash_child",
                    url,
                    "-1",
                    "{}",
                    "worker:" + ",".join(str(1000 * (p + 1) + i) for i in range(n)),
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for p in range(processes)
        ]
        got = []
        for proc in procs:
            out, _ = proc.communicate()
            result = json.loads(out.splitlines()[-1])
            got += result["seqs"]
            total["busy"] += result["busy"]
        events = make_loop(url).events()
        total["duplicates"] += len(got) - len(set(got))
        digests = [e.batch_digest for e in events[1:] if e.decision != "interrupted"]
        total["twice"] += len(digests) - len(set(digests))
        total["gaps"] += int([e.seq for e in events] != list(range(1, len(events) + 1)))
    total["decisions"] = rounds * processes * n
    return total


def _moto() -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    options = {
        "key": "testing",
        "secret": "testing",
        "skip_instance_cache": True,
        "client_kwargs": {
            "endpoint_url": f"http://127.0.0.1:{port}",
            "region_name": "us-east-1",
        },
    }
    return server, options


def _loop(url: str, options: dict[str, Any]) -> Any:
    return make_loop(
        url,
        options,
        monitors=[Monitor(TabularDrift(alpha=1e-9), on="features")],
        performance_drop=1.0,
    )


def observe_s3_vs_local(workdir: Path, events: int, rounds: int) -> dict[str, Any]:
    import s3fs

    server, options = _moto()
    try:
        bucket = f"bench-loop-{int(time.time())}"
        s3fs.S3FileSystem(**options).call_s3("create_bucket", Bucket=bucket)
        stores = {
            "local folder": (str(workdir / "observe-local"), {}),
            "S3 (moto server)": (f"s3://{bucket}/loop", options),
        }
        loops = {}
        for label, (url, opts) in stores.items():
            loops[label] = _loop(url, opts)
            loops[label].bootstrap(make_data(600, seed=1))
        per_round: dict[str, list[float]] = {label: [] for label in stores}
        per_call = events // rounds
        seed = 10_000
        for _ in range(rounds):
            for label, lp in loops.items():
                times = []
                for _ in range(per_call):
                    seed += 1
                    batch = make_data(80, seed=seed)
                    start = time.perf_counter()
                    event = observe(lp, batch)
                    times.append(time.perf_counter() - start)
                    assert event.decision == "no-change", event.summary()
                per_round[label].append(statistics.median(times))
        out: dict[str, Any] = {"events per store": per_call * rounds, "rounds": rounds}
        for label in stores:
            out[f"{label}: s/observe"] = statistics.median(per_round[label])
        out["ratio S3/local"] = (
            out["S3 (moto server): s/observe"] / out["local folder: s/observe"]
        )
        labels = list(stores)
        out["ratio per round"] = [
            s3 / local
            for local, s3 in zip(
                per_round[labels[0]], per_round[labels[1]], strict=True
            )
        ]
        for label, (url, opts) in stores.items():
            opens, pages = [], []
            for _ in range(5):
                start = time.perf_counter()
                fresh = _loop(url, opts)
                fresh._rebuild()
                opens.append(time.perf_counter() - start)
                start = time.perf_counter()
                last = per_call * rounds + 1  # the bootstrap and the observes
                page = fresh.history(start=max(1, last - 49), limit=50)
                pages.append(time.perf_counter() - start)
                assert len(page) == min(50, last)
            out[f"{label}: open (s)"] = statistics.median(opens)
            out[f"{label}: page of 50 (s)"] = statistics.median(pages)
            folds = []
            for _ in range(3):  # the same open without checkpoints: every event read
                start = time.perf_counter()
                fresh = _loop(url, opts)
                fresh._journal.checkpoint_numbers = list  # type: ignore[method-assign]
                fresh._rebuild()
                folds.append(time.perf_counter() - start)
            out[f"{label}: open without checkpoints (s)"] = statistics.median(folds)
        return out
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--worker-rounds", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma list: crash,workers,s3")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="bench-loop-ops-"))
    try:
        if "crash" not in skip:
            print("crash loop:", json.dumps(crash_loop(workdir)), flush=True)
        if "workers" not in skip:
            result = two_workers(
                workdir, args.workers, args.batches, args.worker_rounds
            )
            print("two workers:", json.dumps(result), flush=True)
        if "s3" not in skip:
            result = observe_s3_vs_local(workdir, args.events, args.rounds)
            print("observe:", json.dumps(result), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
