"""Running a pipeline: cache decisions, executors, failures, the run record.

The driver (this process) decides, step by step in dependency order, whether a step
is skipped (an upstream step failed), served from the cache, or must run. A step's
cache key is a digest of its name, its code fingerprint, its ``version=`` tag and the
content digests of everything it receives (upstream outputs, external inputs and
configuration). Cached values are loaded lazily, only when a step that must run (or a
target) needs them, so a fully cached chain loads one object.

Steps that must run are called in place ("sequential") or submitted to an executor
(threads, joblib's loky processes, any ``concurrent.futures.Executor``, a
``dask.distributed.Client``) as soon as their inputs exist. Outputs come back to the
driver, which stores them and digests them; exceptions come back as data (type,
message, traceback text) plus the exception object when it pickles.

What does *not* belong here: the graph (``_graph.py``), the record types
(``_run.py``), where runs are stored (``_store.py``).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import datetime as _dt
import hashlib
import os
import pickle
import sys
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mlopskit.errors import (
    FingerprintError,
    IntegrityError,
    InvalidParameterError,
    ObjectNotFoundError,
    PickleTrustWarning,
    PipelineDefinitionError,
    SchemaValidationError,
    StoreError,
    UncacheableOutputError,
    UntrustedFormatError,
)
from mlopskit.pipeline._code import code_identity, value_digest
from mlopskit.pipeline._step import Step
from mlopskit.pipeline._store import load_output

if TYPE_CHECKING:
    from mlopskit.pipeline._graph import Pipeline
    from mlopskit.pipeline._run import Run, StepRun

__all__: list[str] = []

_perf = time.perf_counter


class _Outcome:
    """What a step call produced; small and picklable (it crosses processes)."""

    __slots__ = ("attempts", "duration", "error", "exception", "ok", "value")

    def __init__(
        self,
        ok: bool,
        value: Any,
        duration: float,
        attempts: int,
        error: tuple[str, str, str] | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self.ok = ok
        self.value = value
        self.duration = duration
        self.attempts = attempts
        self.error = error
        self.exception = exception

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.ok, self.value, self.duration, self.attempts, self.error)
        return (_Outcome, (*args, self.exception))


def _call(step: Step, kwargs: dict[str, Any], portable: bool) -> _Outcome:
    """Call a step with retries and its schema contracts; never raises."""
    start = _perf()
    attempts = 0
    while True:
        attempts += 1
        try:
            if step.input_schema is not None:
                _check_inputs(step, kwargs)
            value = step.func(**kwargs)
            if step.output_schema is not None:
                _check(step, step.output_schema, value, "its output")
            return _Outcome(True, value, _perf() - start, attempts)
        except Exception as exc:
            if attempts <= step.retries and not isinstance(exc, SchemaValidationError):
                time.sleep(step.retry_delay)
                continue
            return _failure(exc, _perf() - start, attempts, portable)


def _failure(
    exc: BaseException, duration: float, attempts: int, portable: bool
) -> _Outcome:
    cls = type(exc)
    kind = (
        cls.__qualname__
        if cls.__module__ == "builtins"
        else f"{cls.__module__}.{cls.__qualname__}"
    )
    text = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    keep: BaseException | None = exc
    if portable:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # an exception that does not pickle travels as text only
            keep = None
    return _Outcome(False, None, duration, attempts, (kind, str(exc), text), keep)


def _check_inputs(step: Step, kwargs: Mapping[str, Any]) -> None:
    schemas = step.input_schema
    if not isinstance(schemas, Mapping):
        schemas = {step.params[0]: schemas} if step.params else {}
    for param, schema in schemas.items():
        if param in kwargs:
            _check(step, schema, kwargs[param], f"input {param!r}")


def _check(step: Step, schema: Any, value: Any, what: str) -> None:
    report = schema.validate(value)
    if not getattr(report, "ok", True):
        summary = str(report)
        if len(summary) > 600:
            summary = summary[:599] + "…"
        raise SchemaValidationError(
            f"Step {step.name!r}: {what} failed its schema contract.\n{summary}\n"
            "Fix the data upstream or the schema; the full report is on the "
            "exception's `report` attribute.",
            step=step.name,
            report=report,
        )


def _cache_key(
    name: str, code: str, version: str | None, digests: dict[str, str]
) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{name}\0{code}\0{version}\0".encode())
    for param in sorted(digests):
        h.update(f"{param}={digests[param]}\0".encode())
    return "step-v1:" + h.hexdigest()


class CacheWarning(UserWarning):
    """The cache could not do its job for a step; the run record says why.

    Emitted at most once per run, listing every step concerned: a step that reaches
    something that cannot be fingerprinted (it ran uncached), an output that needs
    pickle without ``trust_pickle=True`` (not stored), a step that mutated an input
    in place. Each step's own notes are in ``run.steps[name].notes``.

    Examples
    --------
    >>> import warnings
    >>> from mlopskit.pipeline import Pipeline
    >>> def data():
    ...     return [1, 2]
    >>> def grow(data):
    ...     data.append(3)  # mutates its input in place
    ...     return len(data)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     run = Pipeline([data, grow]).run(cache="memory://cache-warning-doc")
    >>> caught[0].category.__name__, run.steps["grow"].notes[0][:29]
    ('CacheWarning', "mutated its input 'data' in p")
    """


_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, frozenset)


class _State:
    """Everything the driver knows during one run."""

    def __init__(
        self,
        pipe: Pipeline,
        inputs: dict[str, Any],
        store: Any,
        force: frozenset[str],
        progress: bool,
        fail_fast: bool,
        total: int,
        run_id: str = "",
        trust_pickle: bool = False,
        shared_memory: bool = True,
    ) -> None:
        from mlopskit.pipeline._run import StepRun

        self.StepRun = StepRun
        self.pipe = pipe
        self.inputs = inputs
        self.store = store
        self.index = None
        if store is not None:
            from mlopskit.pipeline._store import index_of

            self.index = index_of(store)
        self.force = force
        self.progress = progress
        self.fail_fast = fail_fast
        self.stopped = False
        self.total = total
        self.values: dict[str, Any] = {}
        self.digests: dict[str, str | None] = {}
        self.records: dict[str, StepRun] = {}
        self.exceptions: dict[str, BaseException] = {}
        self.pending: dict[
            str, tuple[str | None, str | None, dict[str, str], str, dict[str, Any]]
        ] = {}
        self.input_digests: dict[str, str | None] = {}
        self.keep: frozenset[str] = frozenset()
        self.readers: dict[str, int] = {}
        self.run_id = run_id
        self.trust = trust_pickle or bool(getattr(store, "trust_pickle", False))
        self.shared_memory = shared_memory
        self.seq = 0
        self.notes: dict[str, list[str]] = {}
        #: steps whose output can be read back from the store (ran and stored, cached)
        self.stored: set[str] = set()

    def plan(self, order: tuple[str, ...], targets: tuple[str, ...]) -> None:
        """Count each step's readers, so values are released once all have read."""
        self.keep = frozenset(targets)
        readers = dict.fromkeys(order, 0)
        for name in order:
            for up in self.pipe.upstream[name]:
                readers[up] += 1
        self.readers = readers

    def _release_inputs(self, name: str) -> None:
        # Intermediate values are dropped as soon as every reader has its kwargs, so
        # a long pipeline holds only the values still needed (targets are kept).
        for up in self.pipe.upstream[name]:
            left = self.readers[up] - 1
            self.readers[up] = left
            if left == 0 and up not in self.keep:
                self.values.pop(up, None)

    # -- decisions -----------------------------------------------------------------

    def prepare(self, name: str) -> dict[str, Any] | None:
        """Kwargs if the step must run; ``None`` if it was skipped or cached."""
        step = self.pipe.steps[name]
        for up in self.pipe.upstream[name]:
            status = self.records[up].status
            if status == "failed" or status == "skipped":
                self._skip(name, f"upstream step {up!r} {status}")
                return None
        if self.stopped:
            self._skip(name, "fail_fast: the run stopped after a failure")
            return None
        key = code = None
        digests: dict[str, str] = {}
        reason = "no cache"
        if self.store is not None:
            problems: tuple[str, ...] = ()
            try:
                code, problems = code_identity(step.func)
            except Exception as exc:  # unexpected code objects: run, never mis-cache
                code = None
                fingerprint_error = f"code fingerprint failed ({exc!r}): runs uncached"
            digests, missing = self._digests(step)
            if not step.cache:
                reason = "cache=False"
            elif code is None:
                reason = fingerprint_error
                self._note(name, reason)
            elif problems:
                reason = (
                    f"runs uncached: {problems[0]}. Pass it as an input, or register "
                    "a handler with mlopskit.versioning.fingerprint.register"
                )
                self._note(name, reason)
            elif missing:
                reason = f"runs uncached: no digest for {missing}"
                self._note(name, reason)
            else:
                key = _cache_key(name, code, step.version, digests)
                hit = self.index.entries.get(key) if self.index else None
                if name in self.force:
                    reason = "forced"
                elif hit is not None and self._loadable(hit):
                    self._release_inputs(name)
                    self.digests[name] = hit
                    self.stored.add(name)
                    self._record(
                        name, "cached", 0.0, 0, key, code, digests, hit, "cache hit"
                    )
                    self._commit(name, None, None)
                    return None
                elif hit is not None:
                    reason = (
                        "its cached output is a pickle, loaded only with "
                        "Pipeline.run(..., trust_pickle=True)"
                    )
                elif self.index is not None:
                    reason = self.index.why(
                        self.pipe.name, name, code, step.version, digests
                    )
        try:
            kwargs = self.kwargs(step)
        except Exception as exc:  # an input could not be loaded from the store
            outcome = _failure(exc, 0.0, 0, False)
            self._release_inputs(name)
            self.pending[name] = (key, code, digests, "input unavailable", {})
            self.finish(name, outcome)
            return None
        self.pending[name] = (key, code, digests, reason, kwargs)
        self._release_inputs(name)
        return kwargs

    def _loadable(self, digest: str) -> bool:
        assert self.index is not None
        return self.trust or digest not in self.index.pickled

    def _note(self, name: str, note: str) -> None:
        self.notes.setdefault(name, []).append(note)

    def _digests(self, step: Step) -> tuple[dict[str, str], str | None]:
        digests: dict[str, str] = {}
        missing = None
        for param, source, kind in self.pipe.wiring[step.name]:
            if kind == "step":
                d = self.digests.get(source)
            elif source in self.inputs:
                d = self._input_digest(source)
            else:
                d = value_digest(step.defaults[param])
            if d is None:
                missing = (
                    missing
                    or f"{param!r} (it can be neither fingerprinted nor pickled)"
                )
            else:
                digests[param] = d
        for path in step.files:
            d = _file_digest(path)
            if d is None:
                missing = missing or f"declared file {path!r} (it does not exist)"
            else:
                digests[f"file:{path}"] = d
        return digests, missing

    def _input_digest(self, source: str) -> str | None:
        if source not in self.input_digests:
            self.input_digests[source] = value_digest(self.inputs[source])
        return self.input_digests[source]

    def kwargs(self, step: Step) -> dict[str, Any]:
        kwargs = {}
        inputs = self.inputs
        for param, source, kind in self.pipe.wiring[step.name]:
            if kind == "step":
                kwargs[param] = self.value(source)
            elif kind == "input" or source in inputs:
                kwargs[param] = inputs[source]
        return kwargs

    def value(self, name: str) -> Any:
        """A step's output: computed this run, or loaded from the store (lazily)."""
        try:
            return self.values[name]
        except KeyError:
            pass
        digest = self.digests[name]
        assert digest is not None  # a step read later always has a digest
        assert self.index is not None  # loads happen only with a cache
        try:
            value = load_output(self.store, self.index, digest, self.trust)
        except (ObjectNotFoundError, IntegrityError):
            value = self._recompute(name, "cache entry unreadable: recomputed")
        except UntrustedFormatError:  # a pickle this run may not load
            value = self._recompute(
                name,
                "its cached output is a pickle, loaded only with "
                "Pipeline.run(..., trust_pickle=True): recomputed",
            )
        self.values[name] = value
        return value

    def _recompute(self, name: str, reason: str) -> Any:
        """A cache entry whose object is gone or corrupt: run the step again."""
        step = self.pipe.steps[name]
        outcome = _call(step, self.kwargs(step), False)
        if not outcome.ok:
            assert outcome.exception is not None
            raise outcome.exception
        old = self.records[name]
        self._store_output(name, old.cache_key, outcome.value)
        self.records[name] = old.model_copy(
            update={
                "status": "ran",
                "duration": outcome.duration,
                "attempts": outcome.attempts,
                "reason": reason,
            }
        )
        return outcome.value

    # -- outcomes ------------------------------------------------------------------

    def finish(self, name: str, outcome: _Outcome) -> None:
        key, code, digests, reason, kwargs = self.pending.pop(name)
        if self.store is not None and self.shared_memory and kwargs:
            self._check_mutation(name, kwargs, digests)
        if outcome.ok:
            out = pickled = None
            stored = False
            if self.store is not None:
                try:
                    out, stored, pickled = self._store_output(name, key, outcome.value)
                except (UncacheableOutputError, StoreError) as exc:
                    outcome = _failure(exc, outcome.duration, outcome.attempts, False)
            if outcome.ok:
                self.values[name] = outcome.value
                self.digests[name] = out
                if stored:
                    self.stored.add(name)
                self._record(
                    name, "ran", outcome.duration, outcome.attempts, key, code,
                    digests, out, reason,
                )  # fmt: skip
                if key is not None and out is not None:
                    entry = (key, out) if stored else None
                    self._commit(name, entry, pickled)
                return
        assert outcome.error is not None
        if outcome.exception is not None:
            self.exceptions[name] = outcome.exception
        self.stopped = self.stopped or self.fail_fast
        self._record(
            name, "failed", outcome.duration, outcome.attempts, key, code, digests,
            None, reason, outcome.error,
        )  # fmt: skip

    def _commit(
        self, name: str, entry: tuple[str, str] | None, pickled: tuple[str, str] | None
    ) -> None:
        """Make a finished step's cache entry durable now (see ``_store.py``)."""
        assert self.index is not None
        rec = self.records[name]
        state = {
            "code": rec.code_fingerprint,
            "version": self.pipe.steps[name].version,
            "inputs": rec.input_digests,
        }
        self.seq += 1
        slot = f"{self.pipe.name}/{name}"
        self.index.commit_step(self.run_id, self.seq, slot, state, entry, pickled)

    def _store_output(
        self, name: str, key: str | None, value: Any
    ) -> tuple[str | None, bool, tuple[str, str] | None]:
        """``(output digest, stored?, (digest, address) if stored as a pickle)``."""
        if key is None:
            return value_digest(value), False, None
        try:
            return str(self.store.put(value, trust_pickle=self.trust)), True, None
        except StoreError:
            raise  # the storage failed, not the value: report it as it is
        except UntrustedFormatError:  # only pickle can store it, and not trusted
            digest = value_digest(value)
            assert digest is not None  # it has a fingerprint
            self._note_needs_pickle(name, value)
            return digest, False, None
        except FingerprintError:
            pass  # no fingerprint: keyed by its code-aware pickle digest below
        except Exception as exc:
            raise _uncacheable(name, value, exc) from exc
        digest = value_digest(value)
        if digest is None:
            why = "it can be neither fingerprinted nor pickled"
            raise _uncacheable(name, value, why)
        if not self.trust:
            self._note_needs_pickle(name, value)
            return digest, False, None
        try:
            payload = _dumps(value)
        except Exception as exc:
            raise _uncacheable(name, value, exc) from exc
        warnings.warn(  # as ContentStore.put warns for the pickles it writes
            f"Pickling a {_type_name(value)} (step {name!r}) into "
            f"{self.store.url!r} (trust_pickle=True): loading it will run code.",
            PickleTrustWarning,
            stacklevel=2,
        )
        return digest, True, (digest, str(self.store.put_bytes(payload)))

    def _note_needs_pickle(self, name: str, value: Any) -> None:
        self._note(
            name,
            f"output not cached: a {_type_name(value)} can only be stored as a "
            "pickle; pass Pipeline.run(..., trust_pickle=True) (or a store opened "
            "with trust_pickle=True) to cache it, or return a storable value",
        )

    def _check_mutation(
        self, name: str, kwargs: dict[str, Any], digests: dict[str, str]
    ) -> None:
        """Re-digest the inputs a step received; a step that changed one is reported.

        Readers after it must not see the mutated value under the original digest:
        a stored upstream output is dropped from memory (later readers load what the
        upstream step returned); any other input is re-keyed by its new digest.
        """
        for param, source, kind in self.pipe.wiring[name]:
            before = digests.get(param)
            if before is None or param not in kwargs or _immutable(kwargs[param]):
                continue
            after = value_digest(kwargs[param])
            if after == before:
                continue
            if kind == "step" and source in self.stored:
                self.values.pop(source, None)
                then = f"later steps read what {source!r} returned (from the store)"
            else:
                if kind == "step":
                    self.digests[source] = after
                else:
                    self.input_digests[source] = after
                then = "later steps read the changed value, keyed by its new digest"
            self._note(
                name,
                f"mutated its input {param!r} in place; {then}. Copy it before "
                "changing it (e.g. df = df.copy())",
            )

    def _skip(self, name: str, reason: str) -> None:
        self._release_inputs(name)
        self._record(name, "skipped", 0.0, 0, None, None, {}, None, reason)

    def _record(
        self,
        name: str,
        status: str,
        duration: float,
        attempts: int,
        key: str | None,
        code: str | None,
        digests: dict[str, str],
        out: str | None,
        reason: str | None,
        error: tuple[str, str, str] | None = None,
    ) -> None:
        self.records[name] = self.StepRun._trusted(
            name=name,
            status=status,
            duration=duration,
            attempts=attempts,
            cache_key=key,
            code_fingerprint=code,
            input_digests=digests,
            output_digest=out,
            reason=reason,
            error_type=error[0] if error else None,
            error_message=error[1] if error else None,
            error_traceback=error[2] if error else None,
            notes=tuple(self.notes.get(name, ())),
        )
        if self.progress:
            done = len(self.records)
            extra = f": {error[0]}: {error[1]}" if error else ""
            print(
                f"[{done}/{self.total}] {name} {status} ({duration:.3f}s){extra}",
                file=sys.stderr,
                flush=True,
            )


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _uncacheable(name: str, value: Any, why: Any) -> UncacheableOutputError:
    return UncacheableOutputError(
        f"Step {name!r} returned a {_type_name(value)} that cannot be stored in the "
        f"cache: {why}. Return a storable value (arrays, frames, models, builtins, "
        "picklable objects) or mark the step step(..., cache=False).",
        step=name,
        output_type=type(value).__qualname__,
    )


def _immutable(value: Any) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if type(value) is tuple:
        return all(_immutable(v) for v in value)
    flags = getattr(value, "flags", None)  # a read-only numpy array
    return (
        getattr(flags, "writeable", None) is False and getattr(value, "base", 1) is None
    )


def _file_digest(path: str) -> str | None:
    from mlopskit.versioning import hash_path

    try:
        return str(hash_path(path))
    except (ObjectNotFoundError, OSError):
        return None


def _dumps(value: Any) -> bytes:
    try:
        return pickle.dumps(value, protocol=5)
    except Exception:  # lambdas, classes of a notebook or a doctest: by value
        import importlib

        try:  # joblib >= 1.6 depends on cloudpickle; older joblib vendors it
            cloudpickle = importlib.import_module("cloudpickle")
        except ImportError:
            cloudpickle = importlib.import_module("joblib.externals.cloudpickle")
        return bytes(cloudpickle.dumps(value, protocol=5))


# -- executors ---------------------------------------------------------------------


def _run_sequential(state: _State, order: tuple[str, ...]) -> None:
    steps = state.pipe.steps
    for name in order:
        kwargs = state.prepare(name)
        if kwargs is not None:
            state.finish(name, _call(steps[name], kwargs, False))


def _run_futures(
    state: _State,
    order: tuple[str, ...],
    submit: Callable[[Step, dict[str, Any]], Any],
    wait_first: Callable[[list[Any]], Any],
) -> None:
    pipe = state.pipe
    waiting = {n: len(pipe.upstream[n]) for n in order}
    children: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for up in pipe.upstream[n]:
            children[up].append(n)
    ready = collections.deque(n for n in order if waiting[n] == 0)
    running: dict[Any, str] = {}

    def done(name: str) -> None:
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)

    while ready or running:
        while ready:
            name = ready.popleft()
            kwargs = state.prepare(name)
            if kwargs is None:
                done(name)
            else:
                running[submit(pipe.steps[name], kwargs)] = name
        if running:
            for fut in wait_first(list(running)):
                name = running.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as exc:  # the executor failed (pickling, dead worker)
                    outcome = _failure(exc, 0.0, 1, False)
                state.finish(name, outcome)
                done(name)


def _pool_runner(pool: cf.Executor) -> Callable[[_State, tuple[str, ...]], None]:
    # Exceptions from other processes must pickle; from threads they arrive as is.
    portable = not isinstance(pool, cf.ThreadPoolExecutor)

    def run(state: _State, order: tuple[str, ...]) -> None:
        _run_futures(
            state,
            order,
            lambda step, kwargs: pool.submit(_call, step, kwargs, portable),
            lambda futs: cf.wait(futs, return_when=cf.FIRST_COMPLETED).done,
        )

    return run


def _dask_runner(client: Any) -> Callable[[_State, tuple[str, ...]], None]:
    from mlopskit._optional import import_optional

    distributed = import_optional(
        "dask.distributed", extra="dask", feature="Running a pipeline on Dask"
    )
    from dask.sizeof import sizeof

    def run(state: _State, order: tuple[str, ...]) -> None:
        scattered: dict[int, Any] = {}

        def ship(value: Any) -> Any:
            # Large values go to the cluster once (scatter) instead of inside
            # each task's graph, which Dask warns about above 10 MB.
            if sizeof(value) < 1_000_000:
                return value
            if id(value) not in scattered:
                scattered[id(value)] = (value, client.scatter(value, hash=False))
            return scattered[id(value)][1]

        def submit(step: Step, kwargs: dict[str, Any]) -> Any:
            shipped = {k: ship(v) for k, v in kwargs.items()}
            return client.submit(
                _call,
                step,
                shipped,
                True,
                pure=False,
                key=f"{step.name}-{uuid.uuid4().hex}",
            )

        def wait_first(futs: list[Any]) -> Any:
            return distributed.wait(futs, return_when="FIRST_COMPLETED").done

        _run_futures(state, order, submit, wait_first)

    return run


def _executor(
    executor: Any,
) -> tuple[str, Callable[[_State, tuple[str, ...]], None], Any]:
    """(label, runner, pool to shut down afterwards or None)."""
    if executor == "sequential" or executor is None:
        return "sequential", _run_sequential, None
    if executor == "threads":
        pool = cf.ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4))
        return "threads", _pool_runner(pool), pool
    if executor == "processes":
        from joblib.externals.loky import get_reusable_executor

        return "processes", _pool_runner(get_reusable_executor()), None
    if isinstance(executor, cf.Executor):
        return type(executor).__name__, _pool_runner(executor), None
    module = type(executor).__module__ or ""
    if module.split(".")[0] == "distributed" and hasattr(executor, "submit"):
        return "dask", _dask_runner(executor), None
    raise InvalidParameterError(
        "`executor` must be 'sequential', 'threads', 'processes', a "
        "concurrent.futures.Executor or a dask.distributed.Client. "
        f"Got {executor!r} instead."
    )


# -- the run -----------------------------------------------------------------------


def execute(
    pipe: Pipeline,
    inputs: dict[str, Any],
    *,
    targets: tuple[str, ...] | None,
    cache: Any,
    executor: Any,
    force: tuple[str, ...],
    progress: bool,
    fail_fast: bool,
    trust_pickle: bool = False,
) -> Run:
    """Run ``pipe``; see :meth:`Pipeline.run` for the parameters."""
    from mlopskit.pipeline._run import Run

    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = _perf()
    wanted = targets if targets is not None else (pipe.targets or pipe.sinks())
    order = pipe.needed(wanted)
    _check_run_args(pipe, inputs, force, order)
    if not isinstance(trust_pickle, bool):
        raise InvalidParameterError(
            f"`trust_pickle` must be True or False. Got {trust_pickle!r} instead."
        )
    label, runner, pool = _executor(executor)
    store = None
    if cache is not None:
        from mlopskit.pipeline._store import open_store

        store = open_store(cache)
    run_id = f"{started:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
    shared = label in ("sequential", "threads") or isinstance(
        executor, cf.ThreadPoolExecutor
    )
    state = _State(
        pipe, inputs, store, frozenset(force), progress, fail_fast, len(order),
        run_id, trust_pickle, shared,
    )  # fmt: skip
    state.plan(order, tuple(wanted))
    try:
        runner(state, order)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    outputs = {
        t: state.value(t)
        for t in wanted
        if state.records[t].status in ("ran", "cached")
    }
    run = Run(
        run_id=run_id,
        pipeline=pipe.name,
        started_at=started,
        duration=_perf() - t0,
        executor=label,
        targets=tuple(wanted),
        inputs={k: v for k, v in state.input_digests.items() if v is not None},
        steps={n: state.records[n] for n in order},
        outputs=outputs,
    )
    run._exceptions.update(state.exceptions)
    if state.index is not None:
        state.index.save(run)
    if state.notes:
        _warn(state.notes)
    return run


def _warn(notes: dict[str, list[str]]) -> None:
    lines = [f"  {name}: {note}" for name, found in notes.items() for note in found]
    warnings.warn(
        "The cache could not serve every step as usual (see run.steps[name].notes):\n"
        + "\n".join(lines),
        CacheWarning,
        stacklevel=4,
    )


def _check_run_args(
    pipe: Pipeline,
    inputs: Mapping[str, Any],
    force: tuple[str, ...],
    order: tuple[str, ...],
) -> None:
    unknown_force = [f for f in force if f not in pipe.steps]
    if unknown_force:
        raise PipelineDefinitionError(
            f"force= names {unknown_force}, which are not steps of this pipeline "
            f"(steps: {sorted(pipe.steps)}).",
            step=unknown_force[0],
        )
    readable = set(pipe.inputs) | set(pipe.config)
    for name in inputs:
        if name not in readable:
            what = (
                "the name of a step (a step's output cannot be overridden by an input)"
                if name in pipe.steps
                else "read by no step"
            )
            raise PipelineDefinitionError(
                f"Input {name!r} is {what}. The pipeline reads inputs "
                f"{list(pipe.inputs)} and configuration {list(pipe.config)}; "
                "check the spelling or drop it.",
                step=None,
                input=name,
            )
    from mlopskit.pipeline._graph import _missing_error

    for name in order:
        for _, source, kind in pipe.wiring[name]:
            if kind == "input" and source not in inputs:
                raise _missing_error(source, name, pipe)
