"""`mlopskit hash` and `mlopskit demo`."""

from __future__ import annotations

import argparse
import json
import os
import uuid

import blake3

from mlopskit.cli import main
from mlopskit.versioning._cli import add_demo


def test_hash_prints_the_digest(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLOPSKIT_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_bytes(b"hello")
    assert main(["hash", str(data / "f.txt")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "raw-v1:blake3:" + blake3.blake3(b"hello").hexdigest()
    assert main(["hash", "--json", "--no-cache", str(data)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "directory"
    assert info["files"] == 1
    assert info["bytes"] == 5
    assert info["digest"].startswith("dir-v1:blake3:")


def test_hash_of_a_missing_path_is_a_usage_error(tmp_path, capsys):
    assert main(["hash", str(tmp_path / "missing")]) == 2
    assert "No file or directory" in capsys.readouterr().err


def run_demo(argv):
    """The versioning demo, whichever block owns `mlopskit demo` at the moment."""
    parser = argparse.ArgumentParser()
    add_demo(parser.add_subparsers())
    args = parser.parse_args(["demo", *argv])
    return args.handler(args)


def test_demo_versions_iris_into_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_demo([]) == 0
    out = capsys.readouterr().out
    assert "iris v1: 150 rows" in out
    assert "iris v2: 145 rows" in out
    assert "removed 5, changed 1" in out
    assert os.path.isdir(tmp_path / ".mlopskit" / "store" / "objects")
    url = f"memory://demo-{uuid.uuid4().hex}"
    assert run_demo(["--store", url]) == 0
    assert "verified 2 stored object(s): ok" in capsys.readouterr().out
