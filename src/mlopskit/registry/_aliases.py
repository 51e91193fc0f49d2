"""Aliases: compare-and-swap moves, promotion through gates.

What does *not* belong here: reading versions (``_base``), gates themselves (``_gates``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlopskit.errors import (
    PromotionRefusedError,
    RegistryError,
)
from mlopskit.registry._base import (
    _FORMAT,
    _MAX_ATTEMPTS,
    RegistryBase,
    _description,
    _encode,
    _file,
    _now,
    _who,
)
from mlopskit.registry._gates import run_gate
from mlopskit.registry._model_version import (
    GateOutcome,
    ModelVersion,
    Promotion,
)
from mlopskit.registry._names import (
    check_alias,
    check_version,
)

__all__: list[str] = []


class AliasesMixin(RegistryBase):
    """Aliases: ``set_alias``, ``delete_alias``, ``promote``."""

    def _move_alias(
        self,
        name: str,
        alias: str,
        to_version: int | None,
        *,
        reason: str | None,
        check: Any = None,
    ) -> tuple[int | None, tuple[GateOutcome, ...]]:
        """Compare-and-swap ``alias`` to ``to_version``; return the previous holder.

        ``check(previous_holder)`` runs before each attempt (gates); it raises to
        refuse. A lost race re-reads the alias and runs ``check`` again.
        """
        for attempt in range(_MAX_ATTEMPTS):
            seq, state = self._alias_state(name, alias)
            previous = None if state is None else state.get("to_version")
            outcomes = check(previous) if check is not None else ()
            if previous == to_version:
                return previous, outcomes
            event = {
                "format": _FORMAT,
                "name": name,
                "alias": alias,
                "seq": seq,
                "kind": "set_alias" if to_version is not None else "delete_alias",
                "from_version": previous,
                "to_version": to_version,
                "at": _now(),
                "who": _who(),
                "reason": _description(reason, "reason"),
            }
            try:
                self._storage.create(
                    _encode(event), "models", name, "aliases", alias, _file(seq)
                )
            except FileExistsError:  # a concurrent move won: re-read and retry
                self._backoff(attempt)
                continue
            return previous, outcomes
        raise RegistryError(  # pragma: no cover - needs ~10k lost races in a row
            f"Gave up moving alias {alias!r} of {name!r} after {_MAX_ATTEMPTS} lost races."
        )

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` (an audited compare-and-swap).

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/set-alias")
        >>> _ = reg.register("m", 1)
        >>> reg.set_alias("m", "staging", 1).aliases
        ('staging',)
        """
        alias = check_alias(alias)
        version, _ = self._resolve(name, check_version(version), None)
        if version in self._archived(name):
            raise RegistryError(
                f"Version {version} of {name!r} is archived; an alias cannot point at it. "
                "Register it again to bring it back.",
                name=name,
                version=version,
            )
        self._move_alias(name, alias, version, reason=reason)
        return self.get_version(name, version)

    def delete_alias(self, name: str, alias: str, *, reason: str | None = None) -> None:
        """Remove ``alias`` from ``name`` (recorded in the audit log).

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/delete-alias")
        >>> _ = reg.register("m", 1); _ = reg.set_alias("m", "staging", 1)
        >>> reg.delete_alias("m", "staging")
        >>> reg.get_version("m", 1).aliases
        ()
        """
        alias = check_alias(alias)
        self._existing(name)
        if alias not in self._aliases(name):
            self._resolve(name, None, alias)  # raises the lookup error listing aliases
        self._move_alias(name, alias, None, reason=reason)

    def promote(
        self,
        name: str,
        version: int,
        *,
        alias: str = "production",
        gates: Iterable[Any] = (),
        reason: str | None = None,
    ) -> Promotion:
        """Move ``alias`` to ``version`` if every gate passes.

        Each gate is called with the candidate and the version holding ``alias`` now
        (``None`` if none); see :mod:`mlopskit.registry` for the gate protocol and the
        built-in gates. If a concurrent writer moves the alias meanwhile, the gates run
        again against the new holder before the alias moves.

        Raises
        ------
        PromotionRefusedError
            At least one gate failed; ``failures`` holds each failing
            :class:`GateOutcome`. The alias did not move.

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> from mlopskit.registry import metric_not_worse
        >>> reg = ModelRegistry("memory://docs/promote")
        >>> _ = reg.register("m", 1, metrics={"auc": 0.90})
        >>> _ = reg.register("m", 2, metrics={"auc": 0.85})
        >>> reg.promote("m", 1).version
        1
        >>> reg.promote("m", 2, gates=[metric_not_worse("auc")])
        Traceback (most recent call last):
        ...
        mlopskit.errors.PromotionRefusedError: Promotion of m v2 to 'production' refused by 1 gate: auc_not_worse: auc 0.85 is below the current holder's 0.9 (v1, tolerance 0).
        """
        alias = check_alias(alias)
        gates = tuple(gates)
        version, _ = self._resolve(name, check_version(version), None)
        candidate = self.get_version(name, version)
        if candidate.archived:
            raise RegistryError(
                f"Version {version} of {name!r} is archived and cannot be promoted.",
                name=name,
                version=version,
            )

        def check(holder: int | None) -> tuple[GateOutcome, ...]:
            current = None if holder is None else self.get_version(name, holder)
            outcomes = tuple(run_gate(g, candidate, current) for g in gates)
            failures = tuple(o for o in outcomes if not o.passed)
            if failures:
                detail = "; ".join(f"{o.gate}: {o.reason}" for o in failures)
                raise PromotionRefusedError(
                    f"Promotion of {name} v{version} to {alias!r} refused by "
                    f"{len(failures)} gate{'s' if len(failures) > 1 else ''}: {detail}.",
                    name=name,
                    version=version,
                    alias=alias,
                    failures=failures,
                )
            return outcomes

        why = reason or (
            "promoted; gates passed: "
            + ", ".join(
                g.__name__ if hasattr(g, "__name__") else type(g).__name__
                for g in gates
            )
            if gates
            else "promoted"
        )
        previous, outcomes = self._move_alias(
            name, alias, version, reason=why, check=check
        )
        return Promotion(
            name=name, alias=alias, version=version, previous=previous, gates=outcomes
        )
