"""A worker the crash tests kill: it SIGKILLs itself right after its k-th write.

``python -m tests.loop.crash_child <url> <k> <options-json> <what>`` opens the test loop
on ``url`` and runs ``what`` (``observe``: a shifted, labelled batch that retrains and
promotes; ``bootstrap``; ``worker:<seed>,<seed>…``: one clean batch per seed, retried
on :class:`LoopBusyError`, printing the busy count and the numbers it got), counting every write to the store and the registry (record
creates and object puts). With ``k < 0`` it kills nothing and prints the
writes; otherwise the process kills itself (``SIGKILL``: no ``finally``, no flush)
just after write ``k`` returns, or before the first write for ``k = 0``. The parent
waits for the process to end: no sleeps, no timing.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from tests.loop.test_loop import make_data, make_loop, observe

from mlopskit.versioning import ContentStore
from mlopskit.versioning._records import Storage

_written: list[str] = []


def _counting(original: Any, kill_at: int, where: int) -> Any:
    def write(*args: Any, **kwargs: Any) -> Any:
        if kill_at == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(*args, **kwargs)
        _written.append("/".join(str(a) for a in args[where:]))
        if len(_written) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    return write


def _worker(lp: Any, seeds: list[int]) -> dict[str, Any]:
    """Observe one clean batch per seed; on LoopBusyError retry the same batch."""
    from mlopskit.errors import LoopBusyError
    from mlopskit.versioning._records import backoff

    busy, seqs = 0, []
    for seed in seeds:
        for attempt in range(10_000):
            try:
                seqs.append(observe(lp, make_data(80, seed=seed)).seq)
                break
            except LoopBusyError:
                busy += 1
                backoff(attempt, base=0.005, cap=0.05)
    return {"busy": busy, "seqs": seqs}


def main(url: str, kill_at: int, options: dict[str, Any], what: str) -> None:
    if what.startswith("worker:"):
        lp = make_loop(url, options)
        print(json.dumps(_worker(lp, [int(s) for s in what[7:].split(",")])))
        return
    Storage.create = _counting(Storage.create, kill_at, 2)  # type: ignore[method-assign]
    ContentStore._write = _counting(ContentStore._write, kill_at, 1)  # type: ignore[method-assign]
    lp = make_loop(url, options)
    if what == "bootstrap":
        lp.bootstrap(make_data(600, seed=1))
    else:
        observe(lp, make_data(300, shifted=True, seed=5))
    print(json.dumps({"writes": _written}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4])
    # Everything the tests read is on disk and printed by now. Skip the interpreter's
    # teardown: once in four fresh CI runs a native library's thread pool aborted the
    # child there ("terminate called without an active exception", SIGABRT), after its
    # work was done — a teardown crash the tests do not measure.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
