"""Crash safety: a writer killed at any point leaves no version or a whole one."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlopskit.errors import RegistryLookupError
from mlopskit.registry import ModelRegistry
from mlopskit.versioning._records import Storage

from ._workers import CRASH_WORKER


def _check_consistent(reg: ModelRegistry) -> int:
    """Every visible version loads and matches its tags; the alias log is one chain."""
    if "victim" not in reg.list_models():
        return 0
    frame = reg.list_versions("victim")
    versions = frame["version"].tolist()
    assert versions == list(range(1, len(versions) + 1))  # no gaps, no duplicates
    for version, tag in zip(versions, frame["tags.i"], strict=True):
        assert reg.load("victim", version)["i"] == int(tag)
    moves = [e for e in reg.history("victim").events if e.kind == "set_alias"]
    for before, after in itertools.pairwise(moves):
        assert after.from_version == before.to_version
    if moves:
        holder = reg.get_version("victim", alias="production")
        assert holder.version == moves[-1].to_version
        assert not holder.archived
        reg.load("victim", alias="production")
    return len(versions)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_sigkill_mid_register_in_a_loop(tmp_path: Path) -> None:
    location = {"url": str(tmp_path / "registry"), "storage_options": {}}
    reg = ModelRegistry(location["url"])
    rng = random.Random(7)
    seen = 0
    for round_ in range(5):
        sync = tmp_path / f"sync-{round_}"
        sync.mkdir()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CRASH_WORKER,
                json.dumps({**location, "sync": str(sync)}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # Synchronise on events, not on time: wait until the child has completed a
        # random number of iterations, then kill it wherever it is in the next one.
        done = sync / f"done-{rng.randint(0, 2)}"
        while not done.exists():
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        count = _check_consistent(reg)
        assert count >= seen  # nothing that was visible ever disappears
        seen = count
    assert seen > 0
    after = ModelRegistry(location["url"]).register(
        "victim", {"i": -1}, tags={"i": "-1"}
    )
    assert after.version == seen + 1  # a later register is unaffected
    _check_consistent(reg)


class _Killed(BaseException):
    """Stands for the process dying at that point (nothing after it runs)."""


def test_crash_between_artifact_and_record_leaves_no_version(
    any_registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = any_registry

    def die(*args: Any, **kwargs: Any) -> None:
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(Storage, "create", die)
        with pytest.raises(_Killed):
            registry.register("m", {"w": 1})
    assert registry.list_models() == ()
    with pytest.raises(RegistryLookupError):
        registry.get_version("m")
    assert registry.register("m", {"w": 1}).version == 1


def test_a_torn_claim_is_invisible_and_skipped(tmp_path: Path) -> None:
    """A record cut short (the O_EXCL fallback killed mid-write) is never a version."""
    reg = ModelRegistry(str(tmp_path / "reg"))
    versions = tmp_path / "reg" / "models" / "m" / "versions"
    versions.mkdir(parents=True)
    (versions / "0000000001.json").write_bytes(b'{"format": 1, "name": "m", "vers')
    (versions / ".tmp-deadbeef").write_bytes(b"{}")  # a temporary file left behind
    assert reg.list_models() == ()
    with pytest.raises(RegistryLookupError, match="has no models yet"):
        reg.load("m")
    assert reg.register("m", "x").version == 2  # number 1 stays burnt, never reused
    assert reg.list_versions("m")["version"].tolist() == [2]
    with pytest.raises(RegistryLookupError, match="Its versions: 2"):
        reg.get_version("m", 1)


def test_a_torn_alias_move_is_ignored(tmp_path: Path) -> None:
    reg = ModelRegistry(str(tmp_path / "reg"))
    reg.register("m", 1)
    reg.register("m", 2)
    reg.set_alias("m", "production", 1)
    moves = tmp_path / "reg" / "models" / "m" / "aliases" / "production"
    (moves / "0000000002.json").write_bytes(b"")  # an empty, torn move
    assert reg.get_version("m", alias="production").version == 1
    reg.set_alias("m", "production", 2)  # takes move number 3
    assert sorted(os.listdir(moves)) == [
        "0000000001.json",
        "0000000002.json",
        "0000000003.json",
    ]
    assert reg.get_version("m", alias="production").version == 2
    assert [e.to_version for e in reg.history("m").events if e.alias] == [1, 2]
