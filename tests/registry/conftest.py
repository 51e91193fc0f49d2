"""Fixtures for the registry tests: one registry per backend (local, memory, S3)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mlopskit.registry import ModelRegistry


@pytest.fixture
def s3_bucket(s3_storage: dict[str, Any]) -> dict[str, Any]:
    """The shared fresh bucket on the session's moto server, rooted at ``registry``."""
    return {**s3_storage, "url": f"s3://{s3_storage['bucket']}/registry"}


def _location(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> dict[str, Any]:
    if kind == "local":
        return {"url": str(tmp_path / "registry"), "storage_options": {}}
    if kind == "memory":
        return {"url": f"memory://registry-{uuid.uuid4().hex}", "storage_options": {}}
    return dict(request.getfixturevalue("s3_bucket"))


@pytest.fixture(params=["local", "memory"])
def location(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    """``{"url": …, "storage_options": …}`` for an empty local or memory registry."""
    return _location(request.param, request, tmp_path)


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def any_location(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    """Like ``location``, and also on S3 (a moto server) for storage-level tests."""
    return _location(request.param, request, tmp_path)


@pytest.fixture
def registry(location: dict[str, Any]) -> ModelRegistry:
    """An empty registry, local and in memory."""
    return ModelRegistry(location["url"], **location["storage_options"])


@pytest.fixture
def any_registry(any_location: dict[str, Any]) -> ModelRegistry:
    """An empty registry on every backend, S3 included."""
    return ModelRegistry(any_location["url"], **any_location["storage_options"])
