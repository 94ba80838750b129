"""deploy/scripts/rolling-deploy.sh, run for real against a stand-in `docker` (fake_docker.py):
the order of operations and the automatic rollback, which no machine here can show with a Docker
engine. Each instance is replaced one at a time, nginx is reloaded around every replacement, the
migration runs once before any instance is replaced, and any failed step puts the previous digest
back and fails the deploy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "deploy" / "scripts" / "rolling-deploy.sh"
FAKE = Path(__file__).with_name("fake_docker.py")
OLD = "ghcr.io/sharestack/sharestack-api@sha256:" + "a" * 64
NEW = "ghcr.io/sharestack/sharestack-api@sha256:" + "b" * 64


class Host:
    """A release directory with .env and state/, and fake docker/curl commands on PATH."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        for name in ("docker", "curl"):
            wrapper = self.bin / name
            # The fake tells docker from curl by FAKE_AS.
            wrapper.write_text(f'#!/bin/sh\nFAKE_AS={name} exec "{sys.executable}" "{FAKE}" "$@"\n')
            wrapper.chmod(0o755)
        self.release = root / "release"
        (self.release / "deploy" / "scripts").mkdir(parents=True)
        shutil.copy(SCRIPT, self.release / "deploy" / "scripts" / SCRIPT.name)
        (self.release / ".env").write_text(
            f"SERVER_NAME=staging.example.com\nHTTPS_PUBLISH_PORT=443\nAPI_IMAGE={OLD}\n"
        )
        (self.release / "state").mkdir()
        (self.release / "state" / "current-image").write_text(OLD + "\n")
        self.state_file = root / "fake-state.json"
        old = [{"id": f"old{n}" + "0" * 60, "image": OLD} for n in (1, 2)]
        self.state_file.write_text(
            json.dumps({"containers": old, "calls": [], "migrations": [], "reloads": 0, "gates": 0})
        )

    def deploy(self, image: str, *flags: str, **faults: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.root),
            "FAKE_STATE": str(self.state_file),
            "READY_TIMEOUT": "1",
            **faults,
        }
        return subprocess.run(
            ["bash", "deploy/scripts/rolling-deploy.sh", *flags, image],
            cwd=self.release,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    @property
    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        return data

    def images(self) -> list[str]:
        return [c["image"] for c in self.state["containers"]]

    def file(self, name: str) -> str:
        return (self.release / name).read_text()


@pytest.fixture
def host(tmp_path: Path) -> Host:
    if shutil.which("bash") is None:
        pytest.fail("bash is required to run deploy/scripts/rolling-deploy.sh")
    return Host(tmp_path)


def test_rolls_every_instance_one_at_a_time_after_migrating(host: Host) -> None:
    result = host.deploy(NEW)
    assert result.returncode == 0, result.stdout + result.stderr
    state = host.state
    assert host.images() == [NEW, NEW]
    assert state["migrations"] == [NEW]
    # Per instance: scale to 3, wait for health, reload, stop + remove the old one, reload.
    calls = [c for c in state["calls"] if c[0] == "docker" and c[1] in ("compose", "rm")]
    ups = [c for c in calls if "up" in c]
    assert len(ups) == 2
    assert all("api=3" in c for c in ups)
    assert state["reloads"] == 4
    removed = [c[-1] for c in state["calls"] if c[:2] == ["docker", "rm"]]
    assert removed == ["old1" + "0" * 60, "old2" + "0" * 60]
    # Never fewer than two instances: each old one is removed only after its successor is up.
    first_up = state["calls"].index(next(c for c in state["calls"] if "up" in c))
    first_rm = state["calls"].index(next(c for c in state["calls"] if c[:2] == ["docker", "rm"]))
    assert first_up < first_rm
    assert state["gates"] == 1
    assert host.file("state/current-image").strip() == NEW
    assert host.file("state/previous-image").strip() == OLD
    assert f"API_IMAGE={NEW}" in host.file(".env")
    assert f"deployed {NEW}" in host.file("state/releases.log")


def test_an_instance_that_never_gets_ready_rolls_back_to_the_previous_digest(host: Host) -> None:
    result = host.deploy(NEW, FAKE_NEVER_HEALTHY=NEW)
    assert result.returncode == 1
    assert "rolling back to" in result.stdout
    assert host.images() == [OLD, OLD]
    assert host.file("state/current-image").strip() == OLD
    assert f"API_IMAGE={OLD}" in host.file(".env")
    log = host.file("state/releases.log")
    assert f"rollback-from {NEW} to {OLD}" in log
    assert host.state["migrations"] == [NEW]  # the rollback runs no migration


def test_a_failed_gate_through_nginx_rolls_back(host: Host) -> None:
    result = host.deploy(NEW, FAKE_GATE_FAILS=NEW)
    assert result.returncode == 1
    assert "the readiness gate through nginx failed" in result.stdout
    assert host.images() == [OLD, OLD]
    assert host.file("state/current-image").strip() == OLD


def test_a_failed_migration_leaves_the_running_instances_alone(host: Host) -> None:
    result = host.deploy(NEW, FAKE_MIGRATE_FAILS="1")
    assert result.returncode == 1
    assert "migration failed" in result.stdout
    assert host.images() == [OLD, OLD]


def test_manual_rollback_takes_a_digest_and_skips_migrations(host: Host) -> None:
    assert host.deploy(NEW).returncode == 0
    result = host.deploy(OLD, "--no-migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.images() == [OLD, OLD]
    assert host.state["migrations"] == [NEW]
    assert host.file("state/current-image").strip() == OLD


def test_only_digests_are_deployed(host: Host) -> None:
    result = host.deploy("ghcr.io/sharestack/sharestack-api:latest")
    assert result.returncode == 64
    assert "deploy by digest only" in result.stderr
