"""A model-based test: random sequences of registry operations against a plain model."""

from __future__ import annotations

import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mlopskit.errors import RegistryError, RegistryLookupError
from mlopskit.registry import ModelRegistry

ALIASES = st.sampled_from(["production", "staging", "champion"])


class RegistryMachine(RuleBasedStateMachine):
    """Keeps the expected versions, aliases, archive marks and event count."""

    def __init__(self) -> None:
        super().__init__()
        self.reg = ModelRegistry(f"memory://stateful-{uuid.uuid4().hex}")
        self.versions: list[int] = []
        self.aliases: dict[str, int] = {}
        self.archived: set[int] = set()
        self.events = 0

    @rule(payload=st.integers())
    def register(self, payload: int) -> None:
        mv = self.reg.register("m", {"payload": payload}, metrics={"p": float(payload)})
        assert mv.version == len(self.versions) + 1
        self.versions.append(payload)
        self.events += 1

    @precondition(lambda self: self.versions)
    @rule(alias=ALIASES, data=st.data())
    def set_alias(self, alias: str, data: st.DataObject) -> None:
        version = data.draw(st.integers(1, len(self.versions)))
        if version in self.archived:
            try:
                self.reg.set_alias("m", alias, version)
            except RegistryError:
                return
            raise AssertionError("an alias was set on an archived version")
        self.reg.set_alias("m", alias, version)
        if self.aliases.get(alias) != version:
            self.events += 1
        self.aliases[alias] = version

    @precondition(lambda self: self.versions)
    @rule(alias=ALIASES)
    def delete_alias(self, alias: str) -> None:
        if alias not in self.aliases:
            try:
                self.reg.delete_alias("m", alias)
            except RegistryLookupError:
                return
            raise AssertionError("deleting an unset alias did not raise")
        self.reg.delete_alias("m", alias)
        del self.aliases[alias]
        self.events += 1

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def archive(self, data: st.DataObject) -> None:
        version = data.draw(st.integers(1, len(self.versions)))
        if version in self.aliases.values():
            try:
                self.reg.archive("m", version)
            except RegistryError:
                return
            raise AssertionError("a version holding an alias was archived")
        self.reg.archive("m", version)
        if version not in self.archived:
            self.events += 1
        self.archived.add(version)

    @invariant()
    def matches_the_model(self) -> None:
        if not self.versions:
            return
        frame = self.reg.list_versions("m")
        assert frame["version"].tolist() == list(range(1, len(self.versions) + 1))
        assert frame["archived"].tolist() == [
            v in self.archived for v in range(1, len(self.versions) + 1)
        ]
        for alias, version in self.aliases.items():
            assert self.reg.load("m", alias=alias) == {
                "payload": self.versions[version - 1]
            }
        live = [v for v in range(1, len(self.versions) + 1) if v not in self.archived]
        if live:
            assert self.reg.get_version("m").version == live[-1]
        assert len(self.reg.history("m")) == self.events


RegistryMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=12, deadline=None
)
TestRegistryMachine = RegistryMachine.TestCase
