"""Fixtures shared by every block's tests.

``s3_storage`` starts one moto S3 server per test session on 127.0.0.1 (a real HTTP
server, so s3fs talks to it exactly as to AWS) and gives each test a fresh bucket.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on loopback, running for the whole session."""
    server_mod = pytest.importorskip(
        "moto.server", reason="moto[server] is in the dev extra"
    )
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(
        ip_address="127.0.0.1", port=port, verbose=False
    )
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str) -> dict[str, Any]:
    """A fresh bucket on the moto server: ``{"url": "s3://bucket/prefix", "storage_options": …}``."""
    import s3fs

    options: dict[str, Any] = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
        "skip_instance_cache": True,
    }
    bucket = f"mlopskit-{uuid.uuid4().hex[:12]}"
    # A plain CreateBucket: s3fs.mkdir would send LocationConstraint=us-east-1,
    # which S3 (and moto 5.2) reject for that region.
    s3fs.S3FileSystem(**options).call_s3("create_bucket", Bucket=bucket)
    return {"url": f"s3://{bucket}/root", "storage_options": options, "bucket": bucket}
