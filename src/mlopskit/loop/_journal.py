"""The loop's journal: sequence claims, intents and outcomes, events, checkpoints.

Every record is written once, with the store's create-only writer
(:class:`mlopskit.versioning._records.Storage`), below ``<store>/loop/<model>/``::

    claims/00000007/01.json               worker A claims decision #7 (a lease)
    claims/00000007/02.json               worker B took #7 over (A was dead)
    journal/00000007/01-1-register.intent.json    A is about to register
    journal/00000007/01-1-register.outcome.json   A registered v4
    journal/00000007/01-2-promote.intent.json     A is about to move the alias
    events/00000007.json                  the decision #7 (closes the claim)
    checkpoints/00000100.json             the state folded up to #100

- **One writer per number.** A worker claims number ``N`` by creating
  ``claims/N/01.json``; a second worker's create fails, and it gets
  :class:`~mlopskit.errors.LoopBusyError` while the claim is live. A claim is live
  while its lease has not expired and, on the claimant's own host, its process still
  runs; a dead claim is taken over by creating the next attempt (exclusively, so two
  rescuers cannot both take it).
- **Intents before, outcomes after.** Each registry write (register, move an alias)
  is preceded by an intent record and followed by its outcome. The claim is the
  intent of the batch's content-addressed writes (a put of equal content is a no-op
  and an unreferenced object is only garbage) and the event is their outcome. A
  rescuer reads the dead attempt's journal and the registry's audit log: if the alias
  moved, it writes the decision the dead worker had prepared; if a candidate was
  registered but not promoted, it writes an ``"interrupted"`` event naming it;
  otherwise it reuses the number for its own work.
- **Fencing.** Before it moves the alias, a worker checks that nobody took its claim
  over; its event is a create-only write of ``events/N.json``, so of a slow worker
  and its rescuer exactly one decision #N is recorded. (A worker whose lease expired
  while it ran can still race its rescuer between that check and the move: keep the
  lease longer than the slowest ``observe``.)

What does *not* belong here: what the loop decides (``_loop.py``), its definition
(``_config.py``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from mlopskit.errors import LoopBusyError, LoopError, PromotionRefusedError
from mlopskit.loop._events import LoopEvent, encode_event
from mlopskit.registry import GateOutcome
from mlopskit.versioning._digest import parse_digest
from mlopskit.versioning._records import Storage

__all__ = ["Claim", "Journal", "is_live"]

#: Tokens of the claims this process is working on (a claim of our own pid that is
#: not in here was left by an interrupted call of ours: it is dead).
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()

#: How many events a probe reads at once past the latest checkpoint.
_WINDOW = 64


def _host() -> str:
    return socket.gethostname()


def _seq_name(seq: int) -> str:
    return f"{seq:08d}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - platforms without signal 0
        return True
    return True


@dataclass(frozen=True)
class Claim:
    """A worker's claim on one decision number (a lease).

    Attributes
    ----------
    seq, attempt
        The decision number and the attempt (1, then 2 … after take-overs).
    token
        A random id, written into the reasons of the alias moves it makes.
    kind
        What the claim is for: ``"bootstrap"``, ``"observe"``, ``"rollback"`` …
    key
        The batch key (idempotency) of an observe, else ``None``.
    host, pid, who
        Who holds it.
    expires_at
        The lease's end (seconds since the epoch).
    """

    seq: int
    attempt: int
    token: str
    kind: str
    key: str | None
    host: str
    pid: int
    who: str
    started_at: str
    expires_at: float
    released: bool = False
    scope: int = 0  # the bootstrap the claimant's state followed (idempotency scope)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Claim:
        return cls(**json.loads(data))

    @property
    def mark(self) -> str:
        """The text a registry reason carries to tie a move to this claim."""
        return f"[loop #{self.seq}.{self.attempt} {self.token}]"


def is_live(claim: Claim, *, now: float | None = None) -> bool:
    """Whether ``claim`` may still be working: lease not expired, process alive.

    On the claimant's host the process is checked too (a killed worker's claim is
    dead at once); elsewhere only the lease decides.
    """
    if claim.released:
        return False
    if (time.time() if now is None else now) >= claim.expires_at:
        return False
    if claim.host != _host():
        return True
    if claim.pid == os.getpid():
        with _ACTIVE_LOCK:
            return claim.token in _ACTIVE
    return _pid_alive(claim.pid)


class Journal:
    """The loop's records for one model in one store.

    Parameters
    ----------
    records
        The store's create-only writer.
    model_name
        The loop's model.
    lease
        Seconds a claim stays live without its worker finishing.
    """

    def __init__(self, records: Storage, model_name: str, *, lease: float) -> None:
        self.records = records
        self.model_name = model_name
        self.lease = float(lease)
        self.active: Claim | None = None
        self._steps = 0

    def _at(self, *parts: str) -> tuple[str, ...]:
        return ("loop", self.model_name, *parts)

    def _create(self, data: bytes, *parts: str) -> None:
        self.records.create(data, *self._at(*parts))

    def _read(self, *parts: str) -> bytes | None:
        return self.records.read(*self._at(*parts))

    # -- claims ------------------------------------------------------------------

    def attempts(self, seq: int) -> list[Claim]:
        """Every attempt on decision ``seq``, oldest first."""
        folder = self._at("claims", _seq_name(seq))
        names = [n for n in self.records.list(*folder) if n.endswith(".json")]
        blobs = self.records.read_many(folder, names)
        return [Claim.from_bytes(blobs[n]) for n in names if n in blobs]

    def claim(
        self,
        seq: int,
        kind: str,
        key: str | None,
        *,
        attempt: int = 1,
        scope: int = 0,
    ) -> Claim:
        """Claim decision ``seq`` (attempt ``attempt``); ``FileExistsError`` if taken."""
        now = time.time()
        claim = Claim(
            seq=seq,
            attempt=attempt,
            token=uuid.uuid4().hex[:16],
            kind=kind,
            key=key,
            host=_host(),
            pid=os.getpid(),
            who=_who(),
            started_at=_dt.datetime.now(_dt.timezone.utc).isoformat(),
            expires_at=now + self.lease,
            scope=scope,
        )
        with _ACTIVE_LOCK:
            _ACTIVE.add(claim.token)
        try:
            self._create(
                claim.to_bytes(), "claims", _seq_name(seq), f"{attempt:02d}.json"
            )
        except BaseException:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(claim.token)
            raise
        self.active, self._steps = claim, 0
        return claim

    def release(self, claim: Claim) -> None:
        """Give the number back without a decision (the next attempt may take it)."""
        marker = Claim(
            **{**asdict(claim), "attempt": claim.attempt + 1, "released": True}
        )
        with contextlib.suppress(FileExistsError):
            self._create(
                marker.to_bytes(),
                "claims",
                _seq_name(claim.seq),
                f"{marker.attempt:02d}.json",
            )
        self.end(claim)

    def end(self, claim: Claim | None) -> None:
        """This process no longer works on ``claim``."""
        if claim is None:
            return
        with _ACTIVE_LOCK:
            _ACTIVE.discard(claim.token)
        if self.active is not None and self.active.token == claim.token:
            self.active = None

    def busy_error(self, claim: Claim) -> LoopBusyError:
        left = max(0.0, claim.expires_at - time.time())
        return LoopBusyError(
            f"Decision #{claim.seq} of the loop for {self.model_name!r} is being made by "
            f"{claim.who} (pid {claim.pid}, {claim.kind}, since {claim.started_at}); its "
            f"lease runs {left:.0f} s more. Retry once it is done, or run one worker "
            "per loop. A worker that died on that host is detected at once; "
            "elsewhere its claim is taken over when the lease expires.",
            seq=claim.seq,
            holder=claim.who,
            expires_at=claim.expires_at,
        )

    def taken_over(self, claim: Claim) -> bool:
        """Whether a later attempt took ``claim``'s number over."""
        return (
            self._read("claims", _seq_name(claim.seq), f"{claim.attempt + 1:02d}.json")
            is not None
        )

    # -- intents and outcomes -------------------------------------------------------

    def _note(self, step: int, name: str, what: str, payload: dict[str, Any]) -> None:
        claim = self.active
        if claim is None:
            return
        data = json.dumps(
            {"step": name, **payload}, sort_keys=True, default=str
        ).encode()
        self._create(
            data,
            "journal",
            _seq_name(claim.seq),
            f"{claim.attempt:02d}-{step}-{name}.{what}.json",
        )

    def _intent(self, name: str, payload: dict[str, Any]) -> int:
        self._steps += 1
        self._note(self._steps, name, "intent", payload)
        return self._steps

    def entries(self, claim: Claim) -> list[dict[str, Any]]:
        """The intents and outcomes of one attempt, in order."""
        folder = self._at("journal", _seq_name(claim.seq))
        prefix = f"{claim.attempt:02d}-"
        names = [n for n in self.records.list(*folder) if n.startswith(prefix)]
        names.sort(key=lambda n: (int(n.split("-")[1]), n.endswith("outcome.json")))
        blobs = self.records.read_many(folder, names)
        out = []
        for n in names:
            if n in blobs:
                record = json.loads(blobs[n])
                record["what"] = n.rsplit(".", 2)[-2]
                out.append(record)
        return out

    def register(self, registry: Any, name: str, model: Any, **kwargs: Any) -> Any:
        """``registry.register`` between an intent and its outcome."""
        claim = self.active
        if claim is not None:
            kwargs["tags"] = {
                **dict(kwargs.get("tags") or {}),
                "loop_claim": claim.token,
            }
        step = self._intent("register", {"model": name})
        mv = registry.register(name, model, **kwargs)
        self._note(step, "register", "outcome", {"version": mv.version})
        return mv

    def move(
        self,
        registry: Any,
        name: str,
        version: int,
        *,
        alias: str,
        prepared: LoopEvent,
        gates: Iterable[Any] = (),
        reason: str | None = None,
    ) -> Any:
        """``registry.promote`` between an intent (holding ``prepared``) and its outcome.

        ``prepared`` is the event to record if the move happens; a rescuer writes it
        when it finds the move in the registry's audit log. A fence gate refuses the
        move if another worker took the claim over.
        """
        claim = self.active
        gates = tuple(gates)
        if claim is not None:
            reason = f"{reason or 'loop'} {claim.mark}"
            gates = (*gates, self._fence(claim))
        step = self._intent(
            "promote",
            {
                "version": version,
                "alias": alias,
                "prepared": json.loads(prepared.to_json()),
            },
        )
        try:
            promotion = registry.promote(
                name, version, alias=alias, gates=gates, reason=reason
            )
        except PromotionRefusedError as exc:
            failed = [f.gate for f in getattr(exc, "failures", ())]
            self._note(step, "promote", "outcome", {"moved": False, "failed": failed})
            raise
        self._note(
            step, "promote", "outcome", {"moved": True, "previous": promotion.previous}
        )
        kept = tuple(g for g in promotion.gates if g.gate != "loop_claim")
        return promotion.model_copy(update={"gates": kept})

    def _fence(self, claim: Claim) -> Callable[[Any, Any], GateOutcome]:
        def loop_claim(candidate: Any, current: Any) -> GateOutcome:
            if self.taken_over(claim):
                raise LoopError(
                    f"Decision #{claim.seq} was taken over by another worker (this "
                    "worker's lease expired); the alias was not moved.",
                    seq=claim.seq,
                )
            return GateOutcome(gate="loop_claim", passed=True, reason="claim held")

        return loop_claim

    # -- events ----------------------------------------------------------------------

    def write_event(self, event: LoopEvent) -> None:
        """Create ``events/<seq>.json``; ``FileExistsError`` if #seq is decided."""
        self._create(encode_event(event), "events", f"{_seq_name(event.seq)}.json")

    def event(self, seq: int) -> LoopEvent | None:
        """Decision ``seq``, or ``None``."""
        data = self._read("events", f"{_seq_name(seq)}.json")
        return None if data is None else LoopEvent.model_validate_json(data)

    def all_events(self) -> tuple[LoopEvent, ...]:
        """Every event, listed (also reads the older ``<seq>-<uuid>.json`` names)."""
        folder = self._at("events")
        names = [n for n in self.records.list(*folder) if n.endswith(".json")]
        blobs = self.records.read_many(folder, names)
        events = [LoopEvent.model_validate_json(blobs[n]) for n in names if n in blobs]
        return tuple(sorted(events, key=lambda e: e.seq))

    def events_after(self, seq: int) -> list[LoopEvent]:
        """The events after ``seq``, read window by window (no listing)."""
        folder = self._at("events")
        out: list[LoopEvent] = []
        start, size = seq + 1, 4  # usually few: grow the window as events are found
        while True:
            names = [f"{_seq_name(s)}.json" for s in range(start, start + size)]
            blobs = self.records.read_many(folder, names)
            for n in names:
                if n not in blobs:
                    return out
                out.append(LoopEvent.model_validate_json(blobs[n]))
            start, size = start + size, min(_WINDOW, size * 4)

    def page(self, start: int, limit: int | None) -> tuple[LoopEvent, ...]:
        """Up to ``limit`` events from ``start`` on, read by name (no listing)."""
        folder = self._at("events")
        out: list[LoopEvent] = []
        seq = max(1, start)
        if self._read("events", f"{_seq_name(seq)}.json") is None:
            # Before the oldest kept event (retention), or past the newest: one listing.
            later = [n for n in self.event_numbers() if n >= seq]
            if not later:
                return ()
            seq = later[0]
        while limit is None or len(out) < limit:
            size = _WINDOW if limit is None else min(_WINDOW, limit - len(out))
            names = [f"{_seq_name(s)}.json" for s in range(seq, seq + size)]
            blobs = self.records.read_many(folder, names)
            for n in names:
                if n not in blobs:
                    return tuple(out)
                out.append(LoopEvent.model_validate_json(blobs[n]))
            seq += size
        return tuple(out)

    def event_numbers(self) -> list[int]:
        """The numbers of every stored event (one listing)."""
        names = self.records.list(*self._at("events"))
        return sorted(
            {int(n.split(".")[0].split("-")[0]) for n in names if n[:1].isdigit()}
        )

    # -- checkpoints -----------------------------------------------------------------

    def checkpoint_numbers(self) -> list[int]:
        names = self.records.list(*self._at("checkpoints"))
        return sorted(int(n.split(".")[0]) for n in names if n[:1].isdigit())

    def write_checkpoint(self, seq: int, state: dict[str, Any]) -> None:
        data = json.dumps({"seq": seq, "state": state}, sort_keys=True).encode()
        with contextlib.suppress(FileExistsError):
            self._create(data, "checkpoints", f"{_seq_name(seq)}.json")

    def checkpoint(self, seq: int) -> dict[str, Any] | None:
        data = self._read("checkpoints", f"{_seq_name(seq)}.json")
        return None if data is None else dict(json.loads(data)["state"])


def _key_name(key: str) -> str:
    try:
        return parse_digest(key)[1]
    except ValueError:
        return key.replace(":", "-").replace("/", "-")


def _who() -> str:
    user = os.environ.get("MLOPSKIT_USER") or os.environ.get("USER") or "unknown"
    return f"{user}@{_host()}"
