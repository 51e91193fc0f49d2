"""Lineage: where a model version came from.

A version records the dataset versions it was trained on (their content digests), the
pipeline run that produced it, the code version (the git commit and whether the
working tree had uncommitted changes) and any fields the caller adds.

What does *not* belong here: storing the lineage (it is part of the version record).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from mlopskit._results import Result
from mlopskit.errors import RegistryError

__all__ = ["Lineage", "collect_lineage", "git_state"]

_KNOWN = ("datasets", "run_id", "git_commit", "git_dirty")


class Lineage(Result):
    """Where a model version came from.

    Attributes
    ----------
    datasets
        Dataset name → content digest of the version trained on.
    run_id
        The pipeline run that produced the model, if any.
    git_commit, git_dirty
        The commit checked out where ``register`` ran, and whether tracked files had
        uncommitted changes; ``None`` outside a git checkout.
    extra
        Any other fields the caller gave (JSON values).

    Examples
    --------
    >>> Lineage(datasets={"train": "abc123"}, run_id="run-7").run_id
    'run-7'
    """

    datasets: dict[str, str] = Field(default_factory=dict)
    run_id: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def git_state(cwd: str | None = None) -> tuple[str | None, bool | None]:
    """The checked-out commit and the dirty flag, or ``(None, None)`` outside git.

    One ``git status --porcelain=v2 --branch --untracked-files=no`` call gives both;
    untracked files do not make a tree dirty (as in ``setuptools_scm``).

    Examples
    --------
    >>> import tempfile
    >>> git_state(tempfile.gettempdir())
    (None, None)
    """
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    if out.returncode != 0:
        return None, None
    commit: str | None = None
    dirty = False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2].strip()
            commit = None if oid == "(initial)" else oid
        elif line and not line.startswith("#"):
            dirty = True
    return commit, dirty


def _datasets(value: Any) -> dict[str, str]:
    def digest_of(item: Any) -> str:
        digest = item if isinstance(item, str) else getattr(item, "digest", None)
        if not isinstance(digest, str):
            raise RegistryError(
                "lineage['datasets'] entries must be digests (str) or objects with a "
                f"`digest` attribute. Got {type(item).__name__} instead.",
            )
        return digest

    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): digest_of(v) for k, v in value.items()}
    if isinstance(value, str) or hasattr(value, "digest"):
        value = [value]
    out: dict[str, str] = {}
    for i, item in enumerate(value):
        name = getattr(item, "name", None)
        out[name if isinstance(name, str) else f"dataset_{i}"] = digest_of(item)
    return out


def collect_lineage(lineage: Any, *, code_version: bool = True) -> Lineage:
    """Build a :class:`Lineage` from what ``register(..., lineage=...)`` received.

    ``lineage`` is ``None``, a mapping (keys ``datasets``, ``run_id``, ``git_commit``,
    ``git_dirty``; any other key goes to ``extra``), or a pipeline run: any object with
    a ``run_id`` attribute (a :class:`mlopskit.pipeline.Run`: its ``inputs`` digests
    become the datasets and its ``pipeline`` name an extra field).
    The git commit and dirty flag are read from the working directory unless given.

    Examples
    --------
    >>> class Run:
    ...     run_id = "r-1"
    >>> collect_lineage(Run(), code_version=False).run_id
    'r-1'
    >>> collect_lineage({"run_id": "r-2", "owner": "ana"}, code_version=False).extra
    {'owner': 'ana'}
    """
    fields: dict[str, Any]
    if lineage is None:
        fields = {}
    elif isinstance(lineage, Lineage):
        fields = lineage.to_dict()
        fields = {**fields.pop("extra"), **fields}
    elif isinstance(lineage, Mapping):
        fields = dict(lineage)
    elif hasattr(lineage, "run_id"):
        datasets = None
        for attr in ("inputs", "dataset_digests", "datasets"):  # a pipeline Run: inputs
            datasets = getattr(lineage, attr, None)
            if datasets is not None:
                break
        fields = {"run_id": lineage.run_id, "datasets": datasets}
        if isinstance(getattr(lineage, "pipeline", None), str):
            fields["pipeline"] = lineage.pipeline
    else:
        raise RegistryError(
            "`lineage` must be None, a mapping, a Lineage or a pipeline Run (an object "
            f"with a `run_id`). Got {type(lineage).__name__} instead.",
        )
    run_id = fields.get("run_id")
    commit, dirty = fields.get("git_commit"), fields.get("git_dirty")
    if commit is None and dirty is None and code_version:
        commit, dirty = git_state()
    return Lineage(
        datasets=_datasets(fields.get("datasets")),
        run_id=None if run_id is None else str(run_id),
        git_commit=commit,
        git_dirty=dirty,
        extra={k: v for k, v in fields.items() if k not in _KNOWN},
    )
