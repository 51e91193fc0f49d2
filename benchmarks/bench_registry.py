"""Registry benchmark: mlopskit's ModelRegistry against MLflow's Model Registry.

Run: ``python benchmarks/bench_registry.py`` (about 5 minutes). MLflow runs in its own
virtualenv (it pins heavy dependencies)::

    python -m venv benchmarks/.venvs/mlflow
    benchmarks/.venvs/mlflow/bin/pip install mlflow scikit-learn

Measures, on the same scikit-learn model (LogisticRegression on iris):

1. **register**: store the model and its version record. mlopskit:
   ``ModelRegistry.register`` on a local folder (artifact stored, record ``fsync``-ed,
   git lineage collected). MLflow (default ``sqlite:///mlflow.db`` store):
   ``start_run`` + ``log_metric`` + ``mlflow.sklearn.log_model(...,
   registered_model_name=...)``, the usual way to register a trained model; plus
   MLflow's registry-only ``create_model_version`` (no artifact written) for reference.
2. **load by alias**: ``ModelRegistry.load(name, alias=...)`` (digest verified) vs
   ``mlflow.sklearn.load_model("models:/lr@champion")``.

   Both are timed in rounds that alternate the contenders; medians per call.
3. **concurrency losses**: P processes × 25 registrations of one name, released
   together. A loss is a call that failed, or a returned version that is missing or
   duplicated in the store. mlopskit on a local folder and on S3 (a moto server in its
   own process); MLflow ``create_model_version`` on its file store and SQLite.
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

HERE = Path(__file__).resolve().parent
MLFLOW_PY = HERE / ".venvs" / "mlflow" / "bin" / "python"
MLFLOW_SCRIPT = HERE / "bench_registry_mlflow.py"

WORKER = r"""
import json, os, sys, time
from mlopskit.registry import ModelRegistry
cfg = json.loads(sys.argv[1])
reg = ModelRegistry(cfg["url"], **cfg["storage_options"])
open(os.path.join(cfg["sync"], f"ready-{cfg['worker']}"), "w").close()
while not os.path.exists(os.path.join(cfg["sync"], "go")):
    time.sleep(0.002)
ok, errors, versions = 0, [], []
for i in range(cfg["n"]):
    try:
        versions.append(reg.register("shared", {"w": cfg["worker"], "i": i}).version)
        ok += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}"[:160])
print(json.dumps({"ok": ok, "errors": errors, "versions": versions}))
"""


def _json_line(stream: Any) -> Any:
    """The next line of ``stream`` that is JSON (MLflow also logs to stdout)."""
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("the MLflow worker exited")
        try:
            return json.loads(line)
        except ValueError:
            continue


def _iris_model() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(x, y), x


def bench_latency(rounds: int, per_round: int, workdir: Path) -> dict[str, Any]:
    from mlopskit.registry import ModelRegistry

    model, x = _iris_model()
    reg = ModelRegistry(str(workdir / "ours"))
    reg.register("lr", model, metrics={"accuracy": 0.97})
    reg.set_alias("lr", "champion", 1)
    (workdir / "mlflow").mkdir()
    worker = subprocess.Popen(
        [
            str(MLFLOW_PY),
            str(MLFLOW_SCRIPT),
            "serve",
            str(workdir / "mlflow"),
            "sqlite",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    version = _json_line(worker.stdout)["ready"]

    def mlflow(cmd: str) -> list[float]:
        worker.stdin.write(json.dumps({"cmd": cmd, "n": per_round}) + "\n")  # type: ignore[union-attr]
        worker.stdin.flush()  # type: ignore[union-attr]
        return list(_json_line(worker.stdout))

    times: dict[str, list[float]] = {
        k: []
        for k in (
            "ours_register",
            "ours_register_nogit",
            "ours_load",
            "mlflow_register",
            "mlflow_create_version",
            "mlflow_load",
        )
    }
    for _ in range(rounds):
        for _ in range(per_round):
            start = time.perf_counter()
            reg.register("lr", model, metrics={"accuracy": 0.97})
            times["ours_register"].append(time.perf_counter() - start)
        here = os.getcwd()
        os.chdir(workdir)  # not a git checkout: no git subprocess for the lineage
        try:
            for _ in range(per_round):
                start = time.perf_counter()
                reg.register("lr", model, metrics={"accuracy": 0.97})
                times["ours_register_nogit"].append(time.perf_counter() - start)
        finally:
            os.chdir(here)
        times["mlflow_register"] += mlflow("register")
        times["mlflow_create_version"] += mlflow("create_version")
        for _ in range(per_round):
            start = time.perf_counter()
            loaded = reg.load("lr", alias="champion")
            times["ours_load"].append(time.perf_counter() - start)
            assert loaded.predict(x[:2]).shape == (2,)
        times["mlflow_load"] += mlflow("load")
    worker.stdin.close()
    worker.wait(timeout=60)
    return {
        "mlflow_version": version,
        "medians": {k: statistics.median(v) for k, v in times.items()},
        "n": {k: len(v) for k, v in times.items()},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ours_concurrent(
    location: dict[str, Any], processes: int, n: int, workdir: Path
) -> dict[str, Any]:
    sync = Path(tempfile.mkdtemp(dir=workdir))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                json.dumps({**location, "worker": w, "n": n, "sync": str(sync)}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(processes)
    ]
    while len(list(sync.glob("ready-*"))) < processes:
        time.sleep(0.01)
    start = time.perf_counter()
    (sync / "go").touch()
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    elapsed = time.perf_counter() - start
    from mlopskit.registry import ModelRegistry

    stored = ModelRegistry(
        location["url"], **location["storage_options"]
    ).list_versions("shared")
    return _losses(results, stored["version"].tolist(), processes * n, elapsed)


def _losses(
    results: list[dict[str, Any]], stored: list[int], calls: int, elapsed: float
) -> dict[str, Any]:
    returned = [v for r in results for v in r["versions"]]
    errors = sum(len(r["errors"]) for r in results)
    duplicated = len(returned) - len(set(returned))
    missing = len(set(returned) - set(stored))
    return {
        "calls": calls,
        "ok": sum(r["ok"] for r in results),
        "errors": errors,
        "duplicated": duplicated,
        "missing": missing,
        "stored": len(stored),
        "lost": errors + duplicated + missing,
        "seconds": elapsed,
        "example_error": next((e for r in results for e in r["errors"]), ""),
    }


def _mlflow_concurrent(
    backend: str, processes: int, n: int, workdir: Path
) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(dir=workdir))
    subprocess.run(
        [str(MLFLOW_PY), str(MLFLOW_SCRIPT), "prepare", str(directory), backend],
        check=True,
        capture_output=True,
        text=True,
    )
    go = directory / "go"
    procs = [
        subprocess.Popen(
            [
                str(MLFLOW_PY),
                str(MLFLOW_SCRIPT),
                "concurrent",
                str(directory),
                backend,
                str(w),
                str(n),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for w in range(processes)
    ]
    while len(list(directory.glob("ready-*"))) < processes:
        time.sleep(0.01)
    start = time.perf_counter()
    go.touch()
    results = [_json_line(p.stdout) for p in procs]
    for p in procs:
        p.wait()
    elapsed = time.perf_counter() - start
    stored = _mlflow_stored_versions(directory, backend)
    return _losses(results, stored, processes * n, elapsed)


def _mlflow_stored_versions(directory: Path, backend: str) -> list[int]:
    code = (
        "import json, os, sys, warnings; warnings.filterwarnings('ignore');"
        "os.environ['MLFLOW_ALLOW_FILE_STORE'] = 'true';"
        "from mlflow.tracking import MlflowClient;"
        f"uri = {('file://' + str(directory / 'mlruns')) if backend == 'file' else ('sqlite:///' + str(directory / 'mlflow.db'))!r};"
        "c = MlflowClient(tracking_uri=uri, registry_uri=uri);"
        "print(json.dumps([int(v.version) for v in c.search_model_versions(\"name='shared'\", max_results=10000)]))"
    )
    out = subprocess.run(
        [str(MLFLOW_PY), "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=directory,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_concurrency(
    workdir: Path, shapes: list[tuple[int, int]], mlflow_shapes: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    rows = []
    port = _free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(
        {
            k: env[k]
            for k in (
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_DEFAULT_REGION",
            )
        }
    )
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        import s3fs

        options = {
            "key": "testing",
            "secret": "testing",
            "skip_instance_cache": True,
            "client_kwargs": {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
            },
        }
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        fs = s3fs.S3FileSystem(**options)
        for processes, n in shapes:
            local = {
                "url": str(Path(tempfile.mkdtemp(dir=workdir)) / "reg"),
                "storage_options": {},
            }
            rows.append(
                {
                    "system": "mlopskit",
                    "store": "local folder",
                    "shape": f"{processes}×{n}",
                    **_ours_concurrent(local, processes, n, workdir),
                }
            )
            bucket = f"bench-{processes}x{n}-{int(time.time())}"
            fs.call_s3("create_bucket", Bucket=bucket)
            s3 = {"url": f"s3://{bucket}/reg", "storage_options": options}
            rows.append(
                {
                    "system": "mlopskit",
                    "store": "S3 (moto server)",
                    "shape": f"{processes}×{n}",
                    **_ours_concurrent(s3, processes, n, workdir),
                }
            )
    finally:
        moto.terminate()
        moto.wait()
    for processes, n in mlflow_shapes:
        for backend, label in (("file", "file store"), ("sqlite", "SQLite")):
            rows.append(
                {
                    "system": "MLflow create_model_version",
                    "store": label,
                    "shape": f"{processes}×{n}",
                    **_mlflow_concurrent(backend, processes, n, workdir),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=5)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-concurrency", action="store_true")
    args = parser.parse_args()
    if not MLFLOW_PY.exists():
        sys.exit(
            f"MLflow venv missing: create it at {MLFLOW_PY.parent.parent} (see the docstring)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    try:
        if not args.skip_latency:
            lat = bench_latency(args.rounds, args.per_round, workdir)
            m = lat["medians"]
            print(
                f"\nLatency, MLflow {lat['mlflow_version']} (SQLite store) vs mlopskit (local folder); "
                f"{args.rounds} interleaved rounds × {args.per_round} calls, median per call\n"
            )
            print("| operation | mlopskit | MLflow | MLflow ÷ mlopskit |")
            print("|---|---|---|---|")
            print(
                f"| register (artifact + record) | {m['ours_register'] * 1e3:.1f} ms | "
                f"{m['mlflow_register'] * 1e3:.0f} ms (log_model + register) | "
                f"{m['mlflow_register'] / m['ours_register']:.0f}× |"
            )
            print(
                f"| register outside a git checkout (no `git status` call) | "
                f"{m['ours_register_nogit'] * 1e3:.1f} ms | {m['mlflow_register'] * 1e3:.0f} ms | "
                f"{m['mlflow_register'] / m['ours_register_nogit']:.0f}× |"
            )
            print(
                f"| register vs MLflow registry-only create_model_version (no artifact) | "
                f"{m['ours_register'] * 1e3:.1f} ms | {m['mlflow_create_version'] * 1e3:.1f} ms | "
                f"{m['mlflow_create_version'] / m['ours_register']:.1f}× |"
            )
            print(
                f"| load by alias | {m['ours_load'] * 1e3:.2f} ms | {m['mlflow_load'] * 1e3:.1f} ms | "
                f"{m['mlflow_load'] / m['ours_load']:.0f}× |"
            )
        if not args.skip_concurrency:
            rows = bench_concurrency(workdir, [(4, 25), (8, 25)], [(4, 25)])
            print(
                "\nConcurrency: P processes × 25 registrations of one model, released together\n"
            )
            print(
                "| system | store | P×N | calls OK | errors | duplicated | missing | lost | wall s | first error |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                print(
                    f"| {r['system']} | {r['store']} | {r['shape']} | {r['ok']}/{r['calls']} | {r['errors']} | "
                    f"{r['duplicated']} | {r['missing']} | **{r['lost']}** | {r['seconds']:.1f} | {r['example_error'][:90]} |"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
