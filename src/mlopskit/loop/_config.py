"""The loop's definition, stored at bootstrap and checked on every open.

A loop's history only means something under one definition: its training pipeline
(the steps' code fingerprints and options), its monitors, gates and rollout check, and
its window (metric, triggers, hold-out share, training window, alias, names). The
definition is written create-only to ``<store>/loop/<model>/config/<epoch>.json``;
a loop object whose definition differs from the newest stored one refuses to run
(:class:`~mlopskit.errors.LoopConfigError`, naming each difference) unless it was
created with ``new_epoch=True``, which stores its definition as the next epoch and
records an ``"epoch"`` event, so the history says where the definition changed.

What does *not* belong here: the records' storage (``_journal.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlopskit.errors import LoopConfigError

__all__ = ["definition", "differences", "read_config", "write_config"]

#: Parameters of ContinuousTraining that belong to the window part of the definition.
_WINDOW = (
    "target",
    "metric",
    "performance_drop",
    "retrain_every",
    "holdout_fraction",
    "training_window",
    "alias",
    "data_input",
    "model_step",
    "metrics_step",
    "features_step",
    "min_holdout",
    "cooldown",
)


def _describe(obj: Any) -> str:
    """A stable description: parameters for estimators and dataclasses, code for functions."""
    from mlopskit.pipeline import code_fingerprint

    if callable(obj) and hasattr(obj, "__code__"):
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", "gate"))
        return f"{name}<code {code_fingerprint(obj)[:16]}>"
    return repr(obj)


def _value(value: Any) -> Any:
    """A parameter as stored: JSON values as they are, anything else described."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return _describe(value)


def _pipeline(pipeline: Any) -> dict[str, str]:
    from mlopskit.pipeline import code_fingerprint

    steps = getattr(pipeline, "steps", None)
    if not isinstance(steps, Mapping):
        return {"<pipeline>": _describe(pipeline)}
    out = {}
    for name, s in steps.items():
        options = s._options() if hasattr(s, "_options") else {}
        options = {k: v for k, v in options.items() if k not in ("name",)}
        out[str(name)] = (
            f"code {code_fingerprint(s.func)[:16]}; "
            f"defaults {json.dumps(getattr(s, 'defaults', {}), sort_keys=True, default=repr)}; "
            f"options {json.dumps(options, sort_keys=True, default=repr)}"
        )
    return out


def definition(loop: Any) -> dict[str, Any]:
    """The loop's definition as JSON values (what is stored and compared)."""
    schema = None if loop.schema is None else loop.schema.to_json()
    return {
        "pipeline": _pipeline(loop.pipeline),
        "monitors": [
            f"{m.name}: {type(m.detector).__name__} on {m.on}"
            f"{'' if not m.columns else ' ' + str(list(m.columns))} {_describe(m.detector)}"
            for m in loop.monitors
        ],
        "gates": [_describe(g) for g in loop.gates],
        "rollout": None if loop.rollout is None else _describe(loop.rollout),
        "window": {k: _value(getattr(loop, k, None)) for k in _WINDOW},
        "schema": schema,
    }


def differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One sentence per part of the definition that differs."""
    out = []
    for part in ("pipeline", "window"):
        old, new = dict(stored.get(part) or {}), dict(current.get(part) or {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                label = "step" if part == "pipeline" else "parameter"
                out.append(
                    f"{part} {label} {key!r}: stored {old.get(key)!r}, now {new.get(key)!r}"
                )
    out.extend(
        f"{part}: stored {stored.get(part)!r}, now {current.get(part)!r}"
        for part in ("monitors", "gates", "rollout", "schema")
        if stored.get(part) != current.get(part)
    )
    return out


def read_config(journal: Any) -> tuple[int, dict[str, Any] | None]:
    """The newest stored epoch and its definition (``(0, None)`` if none)."""
    folder = journal._at("config")
    numbers = sorted(
        int(n.split(".")[0]) for n in journal.records.list(*folder) if n[:1].isdigit()
    )
    if not numbers:
        return 0, None
    data = journal.records.read(*folder, f"{numbers[-1]:04d}.json")
    return numbers[-1], None if data is None else dict(json.loads(data))


def write_config(journal: Any, epoch: int, config: Mapping[str, Any]) -> None:
    """Store ``config`` as epoch ``epoch`` (create-only)."""
    data = json.dumps(config, sort_keys=True).encode()
    journal.records.create(data, *journal._at("config"), f"{epoch:04d}.json")


def mismatch_error(model_name: str, diffs: list[str]) -> LoopConfigError:
    shown = "; ".join(diffs[:6]) + (" …" if len(diffs) > 6 else "")
    return LoopConfigError(
        f"The loop for {model_name!r} was bootstrapped with another definition: "
        f"{shown}. Open it with the stored definition, or pass new_epoch=True to "
        "ContinuousTraining to start a new epoch under this one (the history keeps "
        "both, with an 'epoch' event between them).",
        differences=tuple(diffs),
    )
