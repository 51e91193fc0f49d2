"""Temporary files of writers killed mid-write are removed by the next write."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore

from ._workers import STALL_WORKER


def _kill_mid_write(tmp_path: Path, what: str, stall: str, url: str) -> None:
    """Run a writer that stops right before its rename/link; SIGKILL it there."""
    event = tmp_path / f"stalled-{what}"
    cfg = {"url": url, "what": what, "stall": stall, "event": str(event)}
    proc = subprocess.Popen(
        [sys.executable, "-c", STALL_WORKER, json.dumps(cfg)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    while not event.exists():  # synchronise on the file the child writes
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_a_killed_object_writer_leaves_nothing_after_the_next_write(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "store")
    _kill_mid_write(tmp_path, "object", "replace", url)
    left = list((tmp_path / "store" / "objects").rglob(".tmp-*"))
    assert len(left) == 1
    store = ContentStore(url)
    digest = store.put({"payload": "x" * 1000})  # the same folder: cleaned
    assert not left[0].exists()
    assert store.get(digest) == {"payload": "x" * 1000}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_a_killed_record_writer_leaves_nothing_after_the_next_write(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "registry")
    _kill_mid_write(tmp_path, "record", "link", url)
    versions = tmp_path / "registry" / "models" / "m" / "versions"
    assert [p.name[:5] for p in versions.iterdir()] == [".tmp-"]
    registry = ModelRegistry(url)
    assert registry.list_models() == ()  # the killed claim never became a version
    assert registry.register("m", {"w": 1}).version == 1
    assert [p.name for p in versions.iterdir()] == ["0000000001.json"]


def test_a_live_writers_temporary_file_is_kept(tmp_path: Path) -> None:
    from mlopskit.versioning._records import clean_temporary, temporary_name

    mine = tmp_path / temporary_name()  # this process is alive
    foreign = tmp_path / ".tmp-1-anotherhost-abc"  # another machine: cannot tell
    for path in (mine, foreign):
        path.write_bytes(b"")
    assert clean_temporary(str(tmp_path)) == []
    assert mine.exists()
    assert foreign.exists()
