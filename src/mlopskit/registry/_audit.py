"""The audit log and archival.

What does *not* belong here: alias moves (``_aliases``), registration (``_versions``).
"""

from __future__ import annotations

import contextlib

from mlopskit.errors import (
    RegistryError,
)
from mlopskit.registry._base import (
    _FORMAT,
    RegistryBase,
    _decode,
    _description,
    _encode,
    _file,
    _now,
    _who,
)
from mlopskit.registry._model_version import (
    AuditEvent,
    AuditLog,
    ModelVersion,
)
from mlopskit.registry._names import (
    check_version,
)

__all__: list[str] = []


class AuditMixin(RegistryBase):
    """The audit log (``history``) and ``archive``."""

    def history(self, name: str) -> AuditLog:
        """The model's audit log: registrations, alias moves and archivals, oldest first.

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/history")
        >>> _ = reg.register("m", 1); _ = reg.register("m", 2)
        >>> _ = reg.set_alias("m", "production", 1)
        >>> _ = reg.set_alias("m", "production", 2, reason="better AUC")
        >>> [(e.kind, e.from_version, e.to_version) for e in reg.history("m").events][2:]
        [('set_alias', None, 1), ('set_alias', 1, 2)]
        """
        claimed = self._existing(name)
        events: list[tuple[str, int, AuditEvent]] = []
        for number, rec in sorted(self._records(name, claimed).items()):
            event = AuditEvent(
                name=name,
                kind="register",
                at=rec["created_at"],
                who=rec.get("registered_by", ""),
                version=number,
                reason=rec.get("description"),
            )
            events.append((rec["created_at"], 0, event))
        marks_at: tuple[str, ...] = ("models", name, "archived")
        marks = self._storage.read_many(marks_at, self._storage.list(*marks_at))
        for file, data in marks.items():
            mark = _decode(data)
            if mark is not None:
                event = AuditEvent(
                    name=name,
                    kind="archive",
                    at=mark["at"],
                    who=mark["who"],
                    version=int(file.split(".")[0]),
                    reason=mark.get("reason"),
                )
                events.append((mark["at"], 2, event))
        for alias in self._storage.list("models", name, "aliases"):
            folder = ("models", name, "aliases", alias)
            for data in self._storage.read_many(
                folder, self._storage.list(*folder)
            ).values():
                move = _decode(data)
                if move is None:
                    continue
                event = AuditEvent(
                    name=name,
                    kind=move["kind"],
                    at=move["at"],
                    who=move["who"],
                    version=move.get("to_version") or move.get("from_version"),
                    alias=alias,
                    from_version=move.get("from_version"),
                    to_version=move.get("to_version"),
                    reason=move.get("reason"),
                )
                events.append((move["at"], 1, event))
        events.sort(key=lambda item: (item[0], item[1]))
        return AuditLog(name=name, events=tuple(e for _, _, e in events))

    def archive(
        self, name: str, version: int, *, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version: it leaves "latest" and cannot get an alias, but still loads.

        Its number is never reused. Archiving twice is a no-op.

        Raises
        ------
        RegistryError
            An alias points at the version (move or delete it first).

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/archive")
        >>> _ = reg.register("m", 1); _ = reg.register("m", 2)
        >>> reg.archive("m", 2).archived
        True
        >>> reg.get_version("m").version
        1
        """
        version, _ = self._resolve(name, check_version(version), None)
        holding = sorted(a for a, v in self._aliases(name).items() if v == version)
        if holding:
            raise RegistryError(
                f"Cannot archive {name} v{version}: alias(es) {holding} point at it. "
                "Move them (set_alias/promote) or delete them (delete_alias) first.",
                name=name,
                version=version,
                aliases=tuple(holding),
            )
        event = {
            "format": _FORMAT,
            "name": name,
            "version": version,
            "at": _now(),
            "who": _who(),
            "reason": _description(reason, "reason"),
        }
        with contextlib.suppress(FileExistsError):  # already archived: a no-op
            self._storage.create(
                _encode(event), "models", name, "archived", _file(version)
            )
        return self.get_version(name, version)
