"""A real SMTP server for the system tier: aiosmtpd (a dev dependency) as a throwaway process on
a free loopback port, storing every message it receives in a Maildir the test reads."""

from __future__ import annotations

import mailbox
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from tests.support.processes import ManagedProcess, free_port, port_open, wait_until


@dataclass
class SmtpServer:
    port: int
    maildir: Path
    process: ManagedProcess

    def messages(self) -> list[Message]:
        return list(mailbox.Maildir(self.maildir, create=False))


@contextmanager
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    port = free_port()
    maildir = tmp_path / "maildir"
    mailbox.Maildir(maildir, create=True)
    argv = [
        sys.executable, "-m", "aiosmtpd", "-n",
        "-l", f"127.0.0.1:{port}",
        "-c", "aiosmtpd.handlers.Mailbox", str(maildir),
    ]  # fmt: skip
    proc = ManagedProcess("smtp", argv, tmp_path / "smtp.log").start()
    try:
        wait_until(lambda: port_open(port), 30, "the SMTP server (python -m aiosmtpd)", proc)
        yield SmtpServer(port, maildir, proc)
    finally:
        proc.stop()
