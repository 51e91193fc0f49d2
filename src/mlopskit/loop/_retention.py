"""Retention: what a long-running loop keeps, and what it gives up.

Under :class:`RetentionPolicy` a loop's storage is bounded however many batches it
observes:

- **Training rows** (the labelled batches): the state keeps only the parts the
  training window can still use (always, as a rule of the fold, for an ``int``
  window: the newest parts whose rows, less their held-out share, fill the window,
  plus the parts of an open change). ``timedelta``, callable and ``"all"`` windows
  keep every part.
- **Events** (and their claims, journal entries and batch-index entries): the newest
  ``keep_events``, and never one after the newest checkpoint (the state is rebuilt
  from it). Idempotency (the same batch twice, one decision) holds within the kept
  events.
- **Checkpoints**: the newest ``keep_checkpoints``.
- **Quarantined batches**: the newest ``keep_quarantined`` stay roots.

:meth:`ContinuousTraining.retain` deletes the loop's own records beyond the policy
and reports its **roots** (the objects it still needs: schema, reference data,
training parts, kept quarantined batches, the training data of its recent
promotions) and the objects it **released** (labelled and quarantined batches it no
longer needs). Objects live in the content store shared with the registry and the
pipeline cache, so the loop never deletes one itself: a store-wide garbage
collection, given every block's roots, removes what nobody needs.

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
    keep_quarantined
        The newest quarantined batches kept as roots (for inspection).
    keep_promotions
        The newest promotions whose training data stay roots (rollback targets
        keep the data the monitors compare with).

    Examples
    --------
    >>> RetentionPolicy(keep_events=500).keep_events
    500
    """

    keep_events: int = 1000
    keep_checkpoints: int = 2
    keep_quarantined: int = 100
    keep_promotions: int = 5

    def __post_init__(self) -> None:
        for name in ("keep_events", "keep_checkpoints", "keep_quarantined"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"`{name}` must be a positive int. Got {value!r} instead."
                )
        if not isinstance(self.keep_promotions, int) or self.keep_promotions < 0:
            raise InvalidParameterError(
                "`keep_promotions` must be a non-negative int. "
                f"Got {self.keep_promotions!r} instead."
            )


class RetentionReport(Result):
    """What :meth:`ContinuousTraining.retain` deleted, kept and released.

    Attributes
    ----------
    deleted_events, deleted_records
        Events deleted, and every record deleted with them (claims, journal and
        batch-index entries, checkpoints), events included.
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
    dry_run
        Nothing was deleted.
    """

    deleted_events: int
    deleted_records: int
    kept_events: int
    roots: tuple[str, ...]
    released: tuple[str, ...]
    released_runs: tuple[str, ...] = ()
    dry_run: bool


def _event_objects(event: LoopEvent) -> set[str]:
    return {d for d in (event.labelled_digest, event.quarantine_digest) if d}


def roots(loop: Any, policy: RetentionPolicy) -> set[str]:
    """The objects the loop needs now, under ``policy``."""
    state = loop._load_state()
    out = {state.schema_digest, state.reference}
    out.update(p.digest for p in state.parts)
    out.update(str(item["reference"]) for item in state.awaiting.values())
    kept = loop._journal.all_events()
    quarantined = [e for e in kept if e.quarantine_digest]
    out.update(
        str(e.quarantine_digest) for e in quarantined[-policy.keep_quarantined :]
    )
    promoted = [
        e for e in kept if e.decision in ("promoted", "bootstrapped", "rolled-back")
    ]
    if policy.keep_promotions:
        out.update(
            str(e.dataset_digest)
            for e in promoted[-policy.keep_promotions :]
            if e.dataset_digest
        )
    return {d for d in out if d}


def retain(loop: Any, policy: RetentionPolicy, *, dry_run: bool) -> RetentionReport:
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
    needed = roots(loop, policy)
    released: set[str] = set()
    runs: set[str] = set()
    paths: list[str] = []
    blobs = journal.records.read_many(
        journal._at("events"), [f"{n:08d}.json" for n in doomed]
    )
    for data in blobs.values():
        event = LoopEvent.model_validate_json(data)
        released |= _event_objects(event) - needed
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
    return RetentionReport(
        deleted_events=len(doomed),
        deleted_records=len(paths),
        kept_events=len(numbers) - len(doomed),
        roots=tuple(sorted(needed)),
        released=tuple(sorted(released)),
        released_runs=tuple(sorted(runs)),
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
    """The event's own record, and its claims, journal and batch-index entries."""
    seq = f"{event.seq:08d}"
    records = journal.records
    out = [records.path(*journal._at("events"), f"{seq}.json")]
    for folder in (("claims", seq), ("journal", seq)):
        out += [
            records.path(*journal._at(*folder), n)
            for n in records.list(*journal._at(*folder))
        ]
    if event.batch_digest:
        out += journal.batch_entries(event.batch_digest, event.seq)
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
