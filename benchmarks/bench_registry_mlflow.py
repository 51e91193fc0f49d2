"""MLflow side of ``bench_registry.py``; runs inside ``benchmarks/.venvs/mlflow``.

Two modes:

- ``serve DIR BACKEND``: a long-lived worker that reads JSON commands on stdin
  (``{"cmd": "register", "n": 5}``, ``{"cmd": "load", "n": 5}``) and answers one JSON
  line of per-call timings, so that the driver can interleave MLflow and mlopskit in
  rounds. BACKEND is ``sqlite`` (MLflow's default, ``sqlite:///mlflow.db``) or ``file``.
- ``concurrent DIR BACKEND WORKER N GO``: one of several processes calling
  ``MlflowClient.create_model_version`` N times on one pre-created model after the
  file ``GO`` appears; prints how many calls succeeded and the versions returned.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def _setup(directory: str, backend: str) -> tuple[object, object]:
    os.chdir(directory)
    if backend == "file":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        uri = f"file://{os.path.join(directory, 'mlruns')}"
    else:
        uri = f"sqlite:///{os.path.join(directory, 'mlflow.db')}"
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    return mlflow, model


def _register(mlflow: object, model: object, signature: object) -> float:
    import mlflow as mf

    start = time.perf_counter()
    with mf.start_run():
        mf.log_metric("accuracy", 0.97)
        mf.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            pip_requirements=["scikit-learn"],
            registered_model_name="lr",
        )
    return time.perf_counter() - start


def serve(directory: str, backend: str) -> None:
    mlflow, model = _setup(directory, backend)
    import mlflow as mf
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_iris

    x, _ = load_iris(return_X_y=True)
    signature = infer_signature(x, model.predict(x))
    client = MlflowClient()
    _register(mlflow, model, signature)  # warm-up and the version to load
    client.set_registered_model_alias("lr", "champion", "1")
    source = client.get_model_version("lr", "1").source
    print(json.dumps({"ready": mf.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        times: list[float] = []
        for _ in range(cmd["n"]):
            if cmd["cmd"] == "register":
                times.append(_register(mlflow, model, signature))
            elif cmd["cmd"] == "create_version":
                start = time.perf_counter()
                client.create_model_version("lr", source)
                times.append(time.perf_counter() - start)
            elif cmd["cmd"] == "load":
                start = time.perf_counter()
                loaded = mf.sklearn.load_model("models:/lr@champion")
                times.append(time.perf_counter() - start)
                assert loaded.predict(x[:2]).shape == (2,)
        print(json.dumps(times), flush=True)


def prepare(directory: str, backend: str) -> None:
    """Create the model and one version the concurrent workers add versions to."""
    _mlflow, _model = _setup(directory, backend)
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    client.create_registered_model("shared")
    print(json.dumps({"ok": True}), flush=True)


def concurrent(directory: str, backend: str, worker: int, n: int, go: str) -> None:
    _setup(directory, backend)
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    open(os.path.join(directory, f"ready-{worker}"), "w").close()
    while not os.path.exists(go):
        time.sleep(0.002)
    ok, errors, versions = 0, [], []
    for i in range(n):
        try:
            mv = client.create_model_version(
                "shared", f"file:///nowhere/{worker}/{i}", description=f"{worker}/{i}"
            )
            ok += 1
            versions.append(int(mv.version))
        except Exception as exc:  # the loss we count
            errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
    print(json.dumps({"ok": ok, "errors": errors, "versions": versions}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif mode == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    else:
        concurrent(
            sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        )
