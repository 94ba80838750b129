"""A stand-in for the `docker` and `curl` commands, enough to run deploy/scripts/rolling-deploy.sh
on a machine without a Docker engine (test_rolling_deploy.py puts it on PATH under both names).

State lives in $FAKE_STATE (JSON): the API containers (id, image), the calls made, and how many
nginx reloads happened. Failure injection: an image named in $FAKE_NEVER_HEALTHY never turns
healthy; while any container runs the image in $FAKE_GATE_FAILS, the readiness gate (curl) fails;
$FAKE_MIGRATE_FAILS makes the migration fail.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any


def _load(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _api_image() -> str:
    return os.environ["API_IMAGE"]


def compose(state: dict[str, Any], args: list[str]) -> int:
    while args and args[0] == "-f":
        args = args[2:]
    command, rest = args[0], args[1:]
    if command == "run":  # run --rm --no-deps migrate
        state["migrations"].append(_api_image())
        return 1 if os.environ.get("FAKE_MIGRATE_FAILS") else 0
    if command == "ps":  # ps -q api
        for c in state["containers"]:
            print(c["id"])
        return 0
    if command == "up":  # up -d --no-deps --no-recreate --scale api=N api
        scale = next(a for a in rest if a.startswith("api=")) if "--scale" in rest else None
        wanted = int(scale.split("=")[1]) if scale else len(state["containers"])
        while len(state["containers"]) < wanted:
            state["containers"].append({"id": uuid.uuid4().hex, "image": _api_image()})
        return 0
    if command == "exec":  # exec -T nginx nginx -s reload
        state["reloads"] += 1
        return 0
    print(f"fake docker compose: unexpected {args}", file=sys.stderr)
    return 2


def docker(state: dict[str, Any], args: list[str]) -> int:
    command, rest = args[0], args[1:]
    if command == "compose":
        return compose(state, rest)
    if command == "pull":
        return 0
    if command == "inspect":  # inspect --format '{{.State.Health.Status}}' | '{{.Config.Image}}' ID
        cid = rest[-1]
        found = [c for c in state["containers"] if c["id"] == cid]
        if not found:
            return 1
        image = found[0]["image"]
        if "Config.Image" in rest[1]:
            print(image)
        else:
            print("starting" if image == os.environ.get("FAKE_NEVER_HEALTHY") else "healthy")
        return 0
    if command in ("stop", "rm"):
        cid = rest[-1]
        if command == "rm":
            state["containers"] = [c for c in state["containers"] if c["id"] != cid]
        return 0
    print(f"fake docker: unexpected {args}", file=sys.stderr)
    return 2


def curl(state: dict[str, Any]) -> int:
    failing = os.environ.get("FAKE_GATE_FAILS")
    state["gates"] += 1
    if failing and any(c["image"] == failing for c in state["containers"]):
        print("curl: (22) The requested URL returned error: 503", file=sys.stderr)
        return 22
    return 0


def main() -> int:
    path = Path(os.environ["FAKE_STATE"])
    state = _load(path)
    name = os.environ["FAKE_AS"]
    state["calls"].append([name, *sys.argv[1:]])
    code = curl(state) if name == "curl" else docker(state, sys.argv[1:])
    path.write_text(json.dumps(state))
    return code


if __name__ == "__main__":
    sys.exit(main())
