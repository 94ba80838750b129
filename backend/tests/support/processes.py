"""Throwaway server processes for system tests.

Every topology test starts its own servers (MariaDB, Redis, Sentinel, nginx, API processes) on free
loopback ports, keeps the PID it started and stops exactly that PID afterwards. A server binary that
is missing fails the test with the command that installs it: never a silent skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from signal import SIGKILL, SIGTERM, Signals

INSTALL_HINTS = {
    "mariadbd": "apt-get update && apt-get install -y mariadb-server",
    "mariadb-install-db": "apt-get update && apt-get install -y mariadb-server",
    "mariadb-backup": "apt-get update && apt-get install -y mariadb-backup",
    "redis-server": "apt-get update && apt-get install -y redis-server",
    "redis-sentinel": "apt-get update && apt-get install -y redis-sentinel",
    "nginx": "apt-get update && apt-get install -y nginx",
    "openssl": "apt-get update && apt-get install -y openssl",
    "wrk": "apt-get update && apt-get install -y wrk",
    "promtool": "apt-get update && apt-get install -y prometheus",
}


class MissingTool(RuntimeError):
    pass


def require_binary(name: str) -> str:
    """Return the path of a server binary, or fail with the command that installs it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if path is None:
        hint = INSTALL_HINTS.get(name, f"install {name}")
        raise MissingTool(f"{name} is not installed; install it with: {hint}")
    return path


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound and released; the kernel will not hand it out again
    immediately)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, proc: ManagedProcess | None = None
) -> float:
    """Poll ``check`` until it is true; return the seconds it took. Fails with the process log
    tail when the process died or the time ran out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early while waiting for {what}:\n{proc.tail()}")
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - start
        time.sleep(0.02)
    tail = f"\n{proc.tail()}" if proc is not None else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{tail}")


@dataclass
class ManagedProcess:
    """One server process that a test started. Output goes to a log file, never to a pipe that
    could fill up or keep the test runner's stdout open."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            list(self.argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: Signals, group: bool = False) -> None:
        """Signal the process (or, with ``group``, everything it started: it runs in its own
        session, so its process group is its own)."""
        if self.alive():
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)

    def kill9(self) -> None:
        self.signal(SIGKILL)
        self.wait(10)

    def wait(self, timeout: float) -> int | None:
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: Signals = SIGTERM, timeout: float = 15.0, group: bool = False) -> None:
        if not self.alive():
            return
        self.signal(sig, group)
        if self.wait(timeout) is None:
            self.signal(SIGKILL, group)
            self.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return f"({self.log_path} does not exist)"
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(proc: ManagedProcess, stop_signal: Signals = SIGTERM) -> Iterator[ManagedProcess]:
    proc.start()
    try:
        yield proc
    finally:
        proc.stop(stop_signal)


def sharestack_argv(command: str, *args: str) -> list[str]:
    """The command line of a ShareStack process (``python -m sharestack serve|migrate|worker``)
    run with the test's own interpreter."""
    return [sys.executable, "-m", "sharestack", command, *args]


def api_argv(port: int, *, migrate: bool = True, instrumented: bool = False) -> list[str]:
    """An API process on 127.0.0.1:``port``, started as the image starts it; ``instrumented``
    adds the test-only ``X-DB-Server`` / ``X-DB-Wait-Ms`` reports (tests/support/instrumented)."""
    args = ["--host", "127.0.0.1", "--port", str(port), *([] if migrate else ["--no-migrate"])]
    if instrumented:
        return [sys.executable, "-m", "tests.support.instrumented", *args]
    return sharestack_argv("serve", *args)
