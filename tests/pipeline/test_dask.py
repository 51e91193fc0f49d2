"""The pipeline on a real Dask cluster (a LocalCluster with two workers)."""

from __future__ import annotations

import threading
import uuid

import pytest

from mlopskit.errors import StepFailedError
from mlopskit.pipeline import Pipeline

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    # In-process workers (processes=False): two workers, one thread each, started
    # once for the module (about a second). The scheduler's HTTP server always
    # starts; ":0" picks a free port, where the default 8787 may be taken by another
    # cluster on the machine (Dask then warns "Port 8787 is already in use").
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _branches(meet) -> Pipeline:
    def source():
        return 10

    def left(source):
        meet("left")  # returns only when both branches run at the same time
        return source + 1

    def right(source):
        meet("right")
        return source * 2

    def broken(source):
        raise KeyError("missing column 'price'")

    def after(broken):
        return broken

    def join(left, right):
        return left + right

    return Pipeline([source, left, right, broken, after, join])


class _DaskMeeting:
    """A two-party rendezvous through cluster-wide Dask events (picklable)."""

    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex

    def __call__(self, me: str) -> None:
        other = "right" if me == "left" else "left"
        distributed.Event(f"{self.prefix}-{me}").set()
        if not distributed.Event(f"{self.prefix}-{other}").wait(timeout=30):
            raise TimeoutError(f"{other!r} never ran while {me!r} was running")


def test_independent_branches_run_in_parallel_on_dask(client) -> None:
    run = _branches(_DaskMeeting()).run(executor=client)
    assert run.executor == "dask"
    assert run.outputs == {"join": 31}
    assert {n: s.status for n, s in run.steps.items()} == {
        "source": "ran",
        "left": "ran",
        "right": "ran",
        "broken": "failed",
        "after": "skipped",
        "join": "ran",
    }
    assert run.steps["broken"].error_type == "KeyError"
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    assert isinstance(err.value.__cause__, KeyError)


def test_threads_executor_runs_branches_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=30)
    run = _branches(lambda me: barrier.wait()).run(executor="threads")
    assert run.outputs == {"join": 31}


def test_dask_runs_are_cached_like_local_runs(client) -> None:
    import numpy as np

    cache = f"memory://dask-{uuid.uuid4().hex}"

    def big():
        return np.ones(300_000)  # 2.4 MB: shipped to the cluster by scatter

    def total(big):
        return float(big.sum())

    pipe = Pipeline([big, total])
    first = pipe.run(executor=client, cache=cache)
    assert first.outputs == {"total": 300_000.0}
    second = pipe.run(executor=client, cache=cache)
    assert {s.status for s in second.steps.values()} == {"cached"}
    forced = pipe.run(executor=client, cache=cache, force=["total"])
    assert forced.steps["total"].status == "ran"
    assert forced.steps["total"].output_digest == first.steps["total"].output_digest


class _StepError(Exception):
    """Raised inside a worker process; must come back with its type and args."""


def _source():
    return 7


def _fails(_source):
    raise _StepError("bad batch", 7)


def _double(_source):
    return 2 * _source


@pytest.mark.slow
def test_worker_processes_send_back_values_and_exceptions() -> None:
    # Two worker *processes*: steps, values and exceptions cross process boundaries.
    # (The workers import this module by name: see `pythonpath` in pyproject.toml.)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as client:
        run = Pipeline([_source, _fails, _double]).run(executor=client)
    assert run.outputs == {"_double": 14}
    assert run.steps["_fails"].error_type == f"{__name__}._StepError"
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    cause = err.value.__cause__
    assert isinstance(cause, _StepError)
    assert cause.args == ("bad batch", 7)
