"""An S3-protocol server on loopback for the storage tests: moto's server mode (``moto[server]``,
a dev dependency), run as a throwaway process on a free port.

It speaks the S3 REST protocol the adapter uses (PutObject, GetObject, HeadObject,
DeleteObject, HeadBucket, SigV4 presigned GETs); it is not AWS, OSS or COS, and it does not
reproduce their consistency, their error rates or every header they check.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ManagedProcess, free_port, port_open, wait_until

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    process: ManagedProcess


def moto_argv(port: int) -> list[str]:
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists() and shutil.which("moto_server") is None:
        raise RuntimeError(
            "moto_server is missing: run `make install` (moto[server] is a dev dependency)"
        )
    return [str(binary if binary.exists() else "moto_server"), "-H", "127.0.0.1", "-p", str(port)]


@contextlib.contextmanager
def s3_server(root: Path) -> Iterator[S3Server]:
    port = free_port()
    proc = ManagedProcess("moto-s3", moto_argv(port), root / "moto.log")
    proc.start()
    try:
        wait_until(lambda: port_open(port), 30, "moto's S3 server", proc)
        yield S3Server(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.stop()
