"""Fixtures of the versioning tests.

``s3_storage`` overrides the shared fixture of ``tests/conftest.py``: that one creates
its bucket with ``fs.mkdir(bucket)``, and s3fs then sends
``LocationConstraint=us-east-1``, which S3 (and moto) reject. Until the shared fixture
is fixed, this copy creates the bucket with a plain ``CreateBucket`` call.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture
def s3_storage(s3_endpoint: str) -> dict[str, Any]:
    """A fresh bucket on the moto server (same keys as the shared fixture)."""
    import s3fs

    options: dict[str, Any] = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
        "skip_instance_cache": True,
    }
    bucket = f"mlopskit-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(**options)
    fs.call_s3("create_bucket", Bucket=bucket)
    return {"url": f"s3://{bucket}/root", "storage_options": options, "bucket": bucket}
