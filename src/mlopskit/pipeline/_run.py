"""The run record: what ran, what came from the cache, what failed, with lineage.

:class:`Run` and :class:`StepRun` are frozen :class:`~mlopskit._results.Result`
values. A run record answers "which data and code produced this output?" on its own:
each step keeps its cache key, code fingerprint, input digests and output digest.

JSON: ``Run.to_json()`` holds the record only. ``outputs`` (the target values) are
Python objects, not JSON; they are left out, and each target's value stays
identified by ``steps[name].output_digest`` (load it back with :meth:`Run.load`).
Equality of runs is equality of records, so ``Run.from_json(run.to_json()) == run``.

What does *not* belong here: running steps (``_execute.py``), storing runs
(``_store.py``).
"""

from __future__ import annotations

import datetime as _dt
import pickle
from typing import Any, Literal

from pydantic import Field, PrivateAttr

from mlopskit._results import Result
from mlopskit.errors import StepFailedError

__all__ = ["Run", "StepRun"]

Status = Literal["ran", "cached", "failed", "skipped"]


class StepRun(Result):
    """What happened to one step in a run.

    Attributes
    ----------
    name : str
        The step's name.
    status : {"ran", "cached", "failed", "skipped"}
        ``ran``: executed; ``cached``: its output came from the store; ``failed``:
        it raised (see ``error_*``); ``skipped``: not run because an upstream step
        failed (or ``fail_fast`` stopped the run).
    duration : float
        Seconds spent (all attempts); 0 for cached and skipped steps.
    attempts : int
        How many times the function was called (``1 + retries`` at most).
    cache_key : str or None
        The key looked up in the store; ``None`` without a cache, with
        ``cache=False``, or when an input has no digest.
    code_fingerprint : str or None
        :func:`~mlopskit.pipeline.code_fingerprint` of the step's function.
    input_digests : dict
        Parameter name → content digest of the value it received.
    output_digest : str or None
        Content digest of the output (its address in the store when cached).
    reason : str or None
        Why the step ran, was cached or was skipped: "cache hit", "code changed",
        "input changed: features", "version changed (…)", "forced", "no cache
        entry (first run of this step)", "cache=False", "upstream step 'x' failed" …
    error_type, error_message, error_traceback : str or None
        The exception of a failed step: qualified type name, message, traceback text.
    notes : tuple of str
        What the cache noticed about this step: that it mutated an input in place,
        why its output was not stored or why it ran uncached (each is also warned,
        once per run, as a :class:`~mlopskit.pipeline.CacheWarning`).

    Examples
    --------
    >>> s = StepRun(name="clean", status="ran", duration=0.1)
    >>> s.status, s.error_type
    ('ran', None)
    """

    name: str
    status: Status
    duration: float = 0.0
    attempts: int = 0
    cache_key: str | None = None
    code_fingerprint: str | None = None
    input_digests: dict[str, str] = Field(default_factory=dict)
    output_digest: str | None = None
    reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def _trusted(cls, **fields: Any) -> StepRun:
        """Build a record from fields the executor produced (every field, right types).

        ``model_construct`` costs about 5× more in pure Python and is the largest
        per-step cost of an uncached run; this sets the same four attributes it sets.
        """
        record = cls.__new__(cls)
        object.__setattr__(record, "__dict__", fields)
        object.__setattr__(record, "__pydantic_fields_set__", set(fields))
        object.__setattr__(record, "__pydantic_extra__", None)
        object.__setattr__(record, "__pydantic_private__", None)
        return record


class Run(Result):
    """The record of one :meth:`Pipeline.run <mlopskit.pipeline.Pipeline.run>`.

    Attributes
    ----------
    run_id : str
        Unique and time-ordered (``20261123T041500123456Z-1a2b3c4d``); the registry
        stores it as a model's lineage.
    pipeline : str
        The pipeline's name.
    started_at : datetime
        UTC start time.
    duration : float
        Wall seconds for the whole run.
    executor : str
        Which executor ran it.
    targets : tuple of str
        The steps whose values are in ``outputs``.
    inputs : dict
        External input or configuration name → content digest (with a cache).
    steps : dict
        Step name → :class:`StepRun`, in execution order.
    outputs : dict
        Target name → value, for targets that succeeded. Not part of the JSON form.

    Examples
    --------
    >>> from mlopskit.pipeline import Pipeline
    >>> def answer():
    ...     return 42
    >>> run = Pipeline([answer]).run()
    >>> run.ok, run.outputs, run.steps["answer"].status
    (True, {'answer': 42}, 'ran')
    >>> Run.from_json(run.to_json()) == run
    True
    """

    run_id: str
    pipeline: str
    started_at: _dt.datetime
    duration: float
    executor: str
    targets: tuple[str, ...]
    inputs: dict[str, str] = Field(default_factory=dict)
    steps: dict[str, StepRun] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    _exceptions: dict[str, BaseException] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Run)
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __getstate__(self) -> dict[Any, Any]:
        # The original exceptions travel only if they pickle (a class defined in a
        # function does not); the record itself always does.
        state = dict(super().__getstate__())
        private = state.get("__pydantic_private__") or {}
        if private.get("_exceptions"):
            kept = {}
            for name, exc in private["_exceptions"].items():
                try:
                    pickle.dumps(exc)
                except Exception:
                    continue
                kept[name] = exc
            state["__pydantic_private__"] = {**private, "_exceptions": kept}
        return state

    @property
    def ok(self) -> bool:
        """``True`` when every step ran or came from the cache."""
        return all(s.status in ("ran", "cached") for s in self.steps.values())

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the failed steps, in execution order."""
        return tuple(n for n, s in self.steps.items() if s.status == "failed")

    def raise_for_status(self) -> Run:
        """Return the run if it is :attr:`ok`, else raise :class:`StepFailedError`.

        The error names the first failed step, carries ``run`` (this record) and
        ``step``, and is chained to the step's original exception when it survived
        the trip back from the executor.

        Examples
        --------
        >>> from mlopskit.pipeline import Pipeline
        >>> def boom():
        ...     raise ValueError("no data")
        >>> run = Pipeline([boom]).run()
        >>> run.raise_for_status()
        Traceback (most recent call last):
        ...
        mlopskit.errors.StepFailedError: Step 'boom' failed with ValueError: no data ...
        """
        if self.ok:
            return self
        name = self.failed[0] if self.failed else next(iter(self.steps))
        rec = self.steps[name]
        skipped = sum(s.status == "skipped" for s in self.steps.values())
        err = StepFailedError(
            f"Step {name!r} failed with {rec.error_type}: {rec.error_message} "
            f"({len(self.failed)} failed, {skipped} skipped in run {self.run_id}). "
            f"See run.steps[{name!r}].error_traceback; fix the step and run again "
            "(cached steps are not recomputed).",
            run=self,
            step=name,
        )
        raise err from self._exceptions.get(name)

    def load(self, name: str, cache: Any, *, trust_pickle: bool = False) -> Any:
        """Load a step's output from the store by its recorded digest.

        Useful after :func:`load_run`, whose record has no ``outputs``. An output
        stored as a pickle (``run(..., trust_pickle=True)``) loads only with
        ``trust_pickle=True``; its bytes are verified before unpickling.

        Examples
        --------
        >>> from mlopskit.pipeline import Pipeline, load_run
        >>> def answer():
        ...     return 42
        >>> run = Pipeline([answer]).run(cache="memory://load-doc")
        >>> load_run("memory://load-doc", run.run_id).load("answer", "memory://load-doc")
        42
        """
        from mlopskit.errors import PipelineError
        from mlopskit.pipeline._store import index_of, load_output, open_store

        rec = self.steps.get(name)
        if rec is None or rec.output_digest is None:
            raise PipelineError(
                f"Run {self.run_id} has no stored output for {name!r}. Steps with an "
                f"output digest: {[n for n, s in self.steps.items() if s.output_digest]}.",
                step=name,
            )
        store = open_store(cache)
        return load_output(store, index_of(store), rec.output_digest, trust_pickle)

    def to_frame(self) -> Any:
        """One row per step: status, duration, attempts, digests, error type.

        Examples
        --------
        >>> from mlopskit.pipeline import Pipeline
        >>> def answer():
        ...     return 42
        >>> Pipeline([answer]).run().to_frame()[["name", "status"]]
             name status
        0  answer    ran
        """
        import pandas as pd

        cols = (
            "name",
            "status",
            "duration",
            "attempts",
            "reason",
            "error_type",
            "cache_key",
            "output_digest",
        )
        return pd.DataFrame(
            [{c: getattr(s, c) for c in cols} for s in self.steps.values()],
            columns=list(cols),
        )

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for s in self.steps.values():
            counts[s.status] = counts.get(s.status, 0) + 1
        summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        return (
            f"Run(run_id={self.run_id!r}, pipeline={self.pipeline!r}, ok={self.ok}, "
            f"{summary}, duration={self.duration:.3f}s)"
        )

    __str__ = __repr__

    def _repr_html_(self) -> str:
        import html

        frame = self.to_frame()[["name", "status", "duration", "reason", "error_type"]]
        return (
            f"<div><strong>Run</strong> {html.escape(self.run_id)} · "
            f"{html.escape(self.pipeline)} · ok={self.ok} · {self.duration:.3f}s"
            f"{frame.to_html(index=False)}</div>"
        )
