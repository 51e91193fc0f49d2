"""Retention: what a long-running loop keeps, and what it gives up.

Under :class:`RetentionPolicy` a loop's records are bounded however many batches it
observes, and so are the objects they keep alive:

- **Training rows** (the labelled batches): the state keeps only the parts the
  training window can still use (always, as a rule of the fold, for an ``int``
  window: the newest parts whose rows, less their held-out share, fill the window,
  plus the parts of an open change). ``timedelta``, callable and ``"all"`` windows
  keep every part.
- **Events** (with their claims and journal entries): the
  newest ``keep_events``, and never one after the newest checkpoint (the state is
  rebuilt from it). Idempotency (the same batch twice, one decision) holds for
  the batches of the last 1,000 decisions that are still kept. **Quarantined batches** stay as long as their events.
- **Checkpoints**: the newest ``keep_checkpoints``.
- **Runs**: with ``keep_runs_for`` (seconds), the store's collection stops counting
  pipeline run records and cache-index entries older than that as roots.

The store's garbage collection (:meth:`ContentStore.gc`) keeps every object that a
record in the store's folder names (registry versions, dataset versions, pipeline
runs, the loop's events and checkpoints), under a lease, or younger than a grace
period. So deleting the loop's old records is what releases its old batches: with
``collect=True``, :meth:`ContinuousTraining.retain` then runs the collection. What
the loop does not delete: registry versions (every retrain's candidate stays, with
its artifact), dataset versions (every training set), pipeline cache entries (unless
``keep_runs_for``).

What does *not* belong here: the state fold (``_loop.py``), the records (``_journal.py``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from mlopskit._results import Result
from mlopskit.errors import InvalidParameterError
from mlopskit.loop._events import LoopEvent

__all__ = ["RetentionPolicy", "RetentionReport"]


@dataclass(frozen=True)
class RetentionPolicy:
    """How much of its history a loop keeps.

    Parameters
    ----------
    keep_events
        The newest events kept (with their claims and journal entries).
    keep_checkpoints
        The newest state checkpoints kept.
    keep_runs_for
        Seconds after which pipeline run records and cache-index entries stop
        rooting their objects in the collection (``None``: they always do). It
        applies to the whole store: other pipelines sharing it lose their old cache
        entries too, and a step whose cached output was collected runs again.

    Examples
    --------
    >>> RetentionPolicy(keep_events=500).keep_events
    500
    """

    keep_events: int = 1000
    keep_checkpoints: int = 2
    keep_runs_for: float | None = None

    def __post_init__(self) -> None:
        for name in ("keep_events", "keep_checkpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(
                    f"`{name}` must be a positive int. Got {value!r} instead."
                )
        if self.keep_runs_for is not None and not self.keep_runs_for > 0:
            raise InvalidParameterError(
                "`keep_runs_for` must be a positive number of seconds or None. "
                f"Got {self.keep_runs_for!r} instead."
            )


class RetentionReport(Result):
    """What :meth:`ContinuousTraining.retain` deleted, kept and released.

    Attributes
    ----------
    deleted_events, deleted_records
        Events deleted, and every record deleted with them (claims, journal and
        checkpoints), events included.
    kept_events
        Events left.
    roots
        Digests of the objects the loop still needs (give them to the store's
        garbage collection).
    released
        Digests of the loop's objects it no longer needs (candidates for
        collection, unless another block still refers to them).
    released_runs
        Pipeline runs of the deleted events that no registered version names
        (failed retrains): their run records can go with the store's collection.
    collected
        The store's collection report, when ``collect=True``.
    dry_run
        Nothing was deleted.
    """

    deleted_events: int
    deleted_records: int
    kept_events: int
    roots: tuple[str, ...]
    released: tuple[str, ...]
    released_runs: tuple[str, ...] = ()
    collected: Any = None
    dry_run: bool


def _event_objects(event: LoopEvent) -> set[str]:
    return {d for d in (event.labelled_digest, event.quarantine_digest) if d}


def roots(loop: Any, *, after: int = 0) -> set[str]:
    """The objects the loop's records from event ``after`` on name (and its state).

    What the store's collection keeps alive for the loop.
    """
    state = loop._load_state()
    out = {state.schema_digest, state.reference}
    out.update(p.digest for p in state.parts)
    out.update(str(item["reference"]) for item in state.awaiting.values())
    for event in loop._journal.all_events():
        if event.seq >= after:
            out |= _event_objects(event)
    return {d for d in out if d}


def retain(
    loop: Any,
    policy: RetentionPolicy,
    *,
    dry_run: bool,
    collect: bool = False,
    grace: float = 3600.0,
) -> RetentionReport:
    """Apply ``policy``: see :meth:`ContinuousTraining.retain`."""
    journal = loop._journal
    state = loop._load_state()
    checkpoints = journal.checkpoint_numbers()
    numbers = journal.event_numbers()
    horizon = min(
        checkpoints[-1] if checkpoints else 0,
        (numbers[-1] if numbers else 0) - policy.keep_events + 1,
        state.seq,
    )
    doomed = [n for n in numbers if n < horizon]
    needed = roots(loop, after=horizon)
    released: set[str] = set()
    runs: set[str] = set()
    paths: list[str] = []
    blobs = journal.records.read_many(
        journal._at("events"), [f"{n:08d}.json" for n in doomed]
    )
    for data in blobs.values():
        event = LoopEvent.model_validate_json(data)
        # A quarantined batch's digest is also its batch digest, which the state
        # remembers (idempotency) and so its checkpoints name: still rooted.
        released |= _event_objects(event) - needed - set(state.keys)
        if event.run_id:
            runs.add(event.run_id)
        paths += _record_paths(journal, event)
    for number in checkpoints[: -policy.keep_checkpoints]:
        paths.append(
            journal.records.path(*journal._at("checkpoints"), f"{number:08d}.json")
        )
    for name in {f"{n:08d}.json" for n in doomed} - set(blobs):
        paths.append(journal.records.path(*journal._at("events"), name))
    if runs:
        runs -= _registered_runs(loop)
    if not dry_run:
        _delete(journal, paths)
    collected = None
    if collect:
        expire: dict[str, float] = {}
        if policy.keep_runs_for is not None:
            expire = dict.fromkeys(
                ("pipeline-runs", "pipeline-index"), policy.keep_runs_for
            )
        collected = loop.store.gc(dry_run=dry_run, grace=grace, expire=expire)
    return RetentionReport(
        deleted_events=len(doomed),
        deleted_records=len(paths),
        kept_events=len(numbers) - len(doomed),
        roots=tuple(sorted(needed)),
        released=tuple(sorted(released)),
        released_runs=tuple(sorted(runs)),
        collected=collected,
        dry_run=dry_run,
    )


def _registered_runs(loop: Any) -> set[str]:
    from mlopskit.errors import RegistryLookupError

    try:
        frame = loop.registry.list_versions(loop.model_name)
    except RegistryLookupError:
        return set()
    return {str(r) for r in frame["run_id"] if isinstance(r, str)}


def _record_paths(journal: Any, event: LoopEvent) -> list[str]:
    """The event's own record, and its claims and journal entries."""
    seq = f"{event.seq:08d}"
    records = journal.records
    out = [records.path(*journal._at("events"), f"{seq}.json")]
    for folder in (("claims", seq), ("journal", seq)):
        out += [
            records.path(*journal._at(*folder), n)
            for n in records.list(*journal._at(*folder))
        ]
    return out


def _delete(journal: Any, paths: list[str]) -> None:
    fs = journal.records.fs
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)
    if journal.records.kind == "local":  # object stores have no empty folders
        import os

        for folder in sorted({p.rsplit("/", 1)[0] for p in paths}, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
