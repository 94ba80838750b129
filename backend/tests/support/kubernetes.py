"""Render and validate the Kubernetes manifests (deploy/kubernetes) offline.

Each overlay is rendered by ``kubectl kustomize`` (the kustomize built into kubectl, as a deploy
renders it) and every object of the output is checked against the Kubernetes JSON schema of one
release in strict mode (unknown fields are errors) with the schemas that the kubernetes-validate
package ships, so nothing is downloaded. An object whose kind has no schema (a CRD, a misspelt
apiVersion) is an error here, where kubernetes-validate's own command line only warns.

Also a small command line used by ``make check-kubernetes``::

    python -m tests.support.kubernetes check --kubernetes-version 1.32.0
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
KUBERNETES_DIR = REPO_ROOT / "deploy" / "kubernetes"
OVERLAYS_DIR = KUBERNETES_DIR / "overlays"
# The oldest release the manifests promise to work on (matchLabelKeys in topology spread
# constraints is beta, on by default, from 1.27; kubectl here is 1.32). make check-kubernetes
# passes the same default.
DEFAULT_KUBERNETES_VERSION = "1.32.0"

KUBECTL_HINT = (
    "kubectl is not on PATH. It renders the manifests (kubectl kustomize) and needs no cluster: "
    "our machines have it preinstalled (Debian package `kubectl`); elsewhere install kubectl "
    "1.27 or newer, which includes kustomize, and run this again."
)


def overlays() -> list[Path]:
    return sorted(p for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise RuntimeError(KUBECTL_HINT)
    return path


def render(overlay: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` renders for ``overlay``, in its order."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def schema_errors(objects: list[dict[str, Any]], version: str) -> list[str]:
    """One message per object that does not validate strictly against ``version``'s schemas."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    errors: list[str] = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            errors.append(f"{name_of(obj)}: {path}: {exc.message}")
        except SchemaNotFoundError:
            errors.append(
                f"{name_of(obj)}: no schema for {obj['apiVersion']} {obj['kind']} in "
                f"Kubernetes {version} (a CRD or a wrong apiVersion: keep CRDs out of overlays)"
            )
    return errors


def check(version: str) -> int:
    failed = False
    for overlay in overlays():
        objects = render(overlay)
        errors = schema_errors(objects, version)
        kinds = Counter(obj["kind"] for obj in objects)
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        label = overlay.relative_to(REPO_ROOT)
        if errors:
            failed = True
            print(f"{label}: {len(errors)} of {len(objects)} objects fail the schemas:")
            for error in errors:
                print(f"  {error}")
        else:
            print(
                f"{label}: {len(objects)} objects valid against Kubernetes {version} "
                f"(strict): {summary}"
            )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.kubernetes")
    commands = parser.add_subparsers(dest="command", required=True)
    check_cmd = commands.add_parser("check", help="render every overlay and validate it")
    check_cmd.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    try:
        return check(args.kubernetes_version)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
