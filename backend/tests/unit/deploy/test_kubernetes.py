"""The Kubernetes manifests say what the project promises, in every overlay (no cluster needed).

Each overlay under deploy/kubernetes/overlays is rendered with ``kubectl kustomize`` (a local
command: it needs kubectl, and fails with an install hint without it, never skips) and the
rendered objects are checked: strict schemas, the API's probes, non-root pods on read-only root
filesystems with resources on every container, the disruption budget, autoscaler and topology
spread of the API, NetworkPolicies that leave the data tier to the pods of the API image, no
secret values, the migration Job ordered before the rollout, and pinned images.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import kubernetes as k8s
from tests.support.nginx import template_files, template_variables

REPO = k8s.REPO_ROOT
DEPLOY_SCRIPT = k8s.KUBERNETES_DIR / "deploy.sh"
OVERLAYS = {path.name: path for path in k8s.overlays()}
APP_IMAGE = "ghcr.io/sharestack/sharestack-api"
APP_COMPONENTS = {"api", "worker", "migrate"}
# Who may reach the data tier: the API image's pods, and a backup job if one is added.
DATA_CLIENTS = APP_COMPONENTS | {"backup"}
DATA_PORTS = {3306, 6379, 26379}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"}


def test_both_overlays_exist() -> None:
    assert {"production", "development"} <= set(OVERLAYS)


@cache
def _render(name: str) -> tuple[dict[str, Any], ...]:
    try:
        return tuple(k8s.render(OVERLAYS[name]))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(params=sorted(OVERLAYS))
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def objects(overlay: str) -> tuple[dict[str, Any], ...]:
    return _render(overlay)


def _get(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def _workloads(objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in WORKLOAD_KINDS]


def _pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = workload["spec"]["template"]
    return template


def _containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def _component(workload: dict[str, Any]) -> str:
    labels = _pod_template(workload)["metadata"]["labels"]
    if labels.get("app.kubernetes.io/name") == "sharestack":
        return str(labels["app.kubernetes.io/component"])
    return str(labels.get("app.kubernetes.io/component", workload["metadata"]["name"]))


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# --- schemas --------------------------------------------------------------------------------


def test_every_object_validates_strictly(objects: tuple[dict[str, Any], ...]) -> None:
    errors = k8s.schema_errors(list(objects), k8s.DEFAULT_KUBERNETES_VERSION)
    assert not errors, "\n".join(errors)


def test_every_object_is_in_the_overlays_namespace(
    overlay: str, objects: tuple[dict[str, Any], ...]
) -> None:
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    assert len(namespaces) == 1
    namespace = namespaces[0]["metadata"]["name"]
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, k8s.name_of(obj)


# --- the API --------------------------------------------------------------------------------


def test_api_probes_ask_healthz_for_liveness_and_readyz_for_readiness(
    objects: tuple[dict[str, Any], ...],
) -> None:
    api = _get(objects, "Deployment", "sharestack-api")
    (container,) = _pod_template(api)["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    expected = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in expected.items():
        http = container[probe]["httpGet"]
        assert http["path"] == path, probe
        assert http["port"] in ("http", 8000), probe


def test_commands_mirror_the_compose_services(objects: tuple[dict[str, Any], ...]) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    for kind, name, service in (
        ("Deployment", "sharestack-api", "api"),
        ("Deployment", "sharestack-worker", "worker"),
        ("Job", "sharestack-migrate", "migrate"),
    ):
        (container,) = _pod_template(_get(objects, kind, name))["spec"]["containers"]
        assert container["command"] == compose[service]["command"], name


def test_api_scales_by_autoscaler_with_a_disruption_budget_and_spread(
    overlay: str, objects: tuple[dict[str, Any], ...]
) -> None:
    api = _get(objects, "Deployment", "sharestack-api")
    labels = _pod_template(api)["metadata"]["labels"]
    # The autoscaler owns the count: an apply must not reset it.
    assert "replicas" not in api["spec"]
    rolling = api["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0

    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert [h["spec"]["scaleTargetRef"] for h in hpas] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sharestack-api"}
    ]
    hpa = hpas[0]["spec"]
    assert hpa["minReplicas"] >= (3 if overlay == "production" else 1)
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["metrics"])

    budgets = [
        o
        for o in objects
        if o["kind"] == "PodDisruptionBudget" and _selects(o["spec"]["selector"], labels)
    ]
    assert len(budgets) == 1, "exactly one PodDisruptionBudget covers the API pods"
    spec = budgets[0]["spec"]
    assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable", 0) >= 1

    spread = _pod_template(api)["spec"]["topologySpreadConstraints"]
    keys = {c["topologyKey"]: c for c in spread}
    assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= set(keys)
    for constraint in spread:
        assert _selects(constraint["labelSelector"], labels), constraint["topologyKey"]
        assert constraint["maxSkew"] == 1
    assert keys["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"


def test_api_pods_share_no_disk(objects: tuple[dict[str, Any], ...]) -> None:
    """Stateless: media goes to object storage, so no volume but scratch space."""
    for name in ("sharestack-api", "sharestack-worker"):
        pod = _pod_template(_get(objects, "Deployment", name))["spec"]
        for volume in pod.get("volumes", []):
            assert set(volume) == {"name", "emptyDir"}, f"{name}: volume {volume['name']}"


def test_the_api_image_runs_with_one_environment(objects: tuple[dict[str, Any], ...]) -> None:
    envs = []
    for kind, name in (
        ("Deployment", "sharestack-api"),
        ("Deployment", "sharestack-worker"),
        ("Job", "sharestack-migrate"),
    ):
        (container,) = _pod_template(_get(objects, kind, name))["spec"]["containers"]
        envs.append((container["envFrom"], container["env"]))
    assert envs[0] == envs[1] == envs[2], "api, worker and migrate must share one environment"


def test_every_variable_an_env_value_uses_is_defined(objects: tuple[dict[str, Any], ...]) -> None:
    """$(NAME) that Kubernetes cannot expand stays literal: a URL with "$(…)" in it."""
    config_maps = {
        o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"
    }
    for workload in _workloads(objects):
        for container in _containers(_pod_template(workload)["spec"]):
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                ref = source["configMapRef"]["name"]
                assert ref in config_maps, f"{k8s.name_of(workload)}: ConfigMap {ref} not rendered"
                defined |= set(config_maps[ref])
            for var in container.get("env", []):
                for used in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var.get("value", "")):
                    assert used in defined, f"{k8s.name_of(workload)}: {var['name']} uses $({used})"
                defined.add(var["name"])


def test_api_settings_match_production_expectations(objects: tuple[dict[str, Any], ...]) -> None:
    api = _get(objects, "Deployment", "sharestack-api")
    (container,) = _pod_template(api)["spec"]["containers"]
    (source,) = container["envFrom"]
    settings = _get(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    assert settings["ENVIRONMENT"] == "production"
    assert int(settings["MAX_BODY_BYTES"]) == 1024 * 1024
    env = {v["name"]: v for v in container["env"]}
    for secret in ("SECRET_KEY", "MYSQL_APP_PASSWORD", "REDIS_PASSWORD"):
        assert "secretKeyRef" in env[secret]["valueFrom"], secret
    assert env["DATABASE_URL"]["value"].startswith("mysql+asyncmy://")


# --- every pod ------------------------------------------------------------------------------


def test_every_pod_runs_non_root_on_a_read_only_root_filesystem(
    objects: tuple[dict[str, Any], ...],
) -> None:
    workloads = _workloads(objects)
    assert workloads
    for workload in workloads:
        name = k8s.name_of(workload)
        pod = _pod_template(workload)["spec"]
        pod_security = pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name
        for container in _containers(pod):
            where = f"{name} container {container['name']}"
            security = container["securityContext"]
            user = security.get("runAsUser", pod_security.get("runAsUser"))
            assert user is not None, f"{where}: no numeric user (runAsNonRoot needs one)"
            assert user != 0, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where


def test_every_container_has_requests_and_limits(objects: tuple[dict[str, Any], ...]) -> None:
    for workload in _workloads(objects):
        for container in _containers(_pod_template(workload)["spec"]):
            where = f"{k8s.name_of(workload)} container {container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where


def test_images_are_pinned(objects: tuple[dict[str, Any], ...]) -> None:
    for workload in _workloads(objects):
        for container in _containers(_pod_template(workload)["spec"]):
            image = container["image"]
            where = f"{k8s.name_of(workload)}: {image}"
            if "@sha256:" in image:
                continue
            repo, _, tag = image.rpartition(":")
            assert repo, f"{where} has no tag"
            assert "/" not in tag, f"{where} has no tag"
            assert tag != "latest", where
            if repo == APP_IMAGE:
                # The build pushes sha-<commit>; deploy.sh replaces it with the digest.
                assert re.fullmatch(r"sha-[0-9a-f]{40}", tag), where
            else:
                assert re.match(r"v?\d+\.\d+\.\d+", tag), f"{where} is not pinned to a version"


# --- secrets --------------------------------------------------------------------------------


def test_no_secret_values_are_rendered(objects: tuple[dict[str, Any], ...]) -> None:
    for obj in objects:
        if obj["kind"] == "Secret":
            assert not obj.get("data"), k8s.name_of(obj)
            assert not obj.get("stringData"), k8s.name_of(obj)
    for workload in _workloads(objects):
        for container in _containers(_pod_template(workload)["spec"]):
            for var in container.get("env", []):
                if re.search(r"PASSWORD|SECRET|TOKEN", var["name"]):
                    assert "value" not in var, f"{k8s.name_of(workload)}: {var['name']} has a value"
                    assert "secretKeyRef" in var["valueFrom"], var["name"]


# --- network policies -----------------------------------------------------------------------


def _pods(objects: tuple[dict[str, Any], ...]) -> dict[str, dict[str, str]]:
    """component -> pod labels, for every workload."""
    return {_component(w): _pod_template(w)["metadata"]["labels"] for w in _workloads(objects)}


def _ports(rule: dict[str, Any]) -> set[int] | None:
    """The rule's ports, or None when it allows every port."""
    if not rule.get("ports"):
        return None
    return {int(p["port"]) for p in rule["ports"]}


def _reaches_data(rule: dict[str, Any], peers_key: str, data_pods: list[dict[str, str]]) -> bool:
    ports = _ports(rule)
    if ports is not None and not ports & DATA_PORTS:
        return False
    peers = rule.get(peers_key, [])
    if not peers:
        return True  # any destination
    for peer in peers:
        if "ipBlock" in peer:
            return True  # outside the cluster: the managed data tier
        if "podSelector" in peer and "namespaceSelector" not in peer:
            if any(_selects(peer["podSelector"], labels) for labels in data_pods):
                return True
        elif "namespaceSelector" in peer:
            continue  # another namespace (kube-dns, monitoring)
    return False


def test_network_policies_deny_by_default(objects: tuple[dict[str, Any], ...]) -> None:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny NetworkPolicy for ingress and egress"


def test_only_the_api_image_reaches_the_data_tier(objects: tuple[dict[str, Any], ...]) -> None:
    pods = _pods(objects)
    data_pods = [
        labels for c, labels in pods.items() if labels.get("app.kubernetes.io/component") == "data"
    ]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    reaching: set[str] = set()
    for policy in policies:
        selected = {
            c for c, labels in pods.items() if _selects(policy["spec"]["podSelector"], labels)
        }
        for rule in policy["spec"].get("egress", []):
            if _reaches_data(rule, "to", data_pods):
                reaching |= selected
    assert reaching >= APP_COMPONENTS, (
        f"api, worker and migrate must reach the data tier: {reaching}"
    )
    assert reaching <= DATA_CLIENTS, (
        f"pods other than the API image's reach the data tier: {reaching - DATA_CLIENTS}"
    )

    # An in-cluster data tier also admits only them.
    for policy in policies:
        if not any(_selects(policy["spec"]["podSelector"], labels) for labels in data_pods):
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from", [])
            assert peers, f"{k8s.name_of(policy)} admits every source to the data tier"
            for peer in peers:
                assert set(peer) == {"podSelector"}, f"{k8s.name_of(policy)}: {peer}"
                admitted = {
                    c for c, labels in pods.items() if _selects(peer["podSelector"], labels)
                }
                assert admitted <= DATA_CLIENTS, f"{k8s.name_of(policy)} admits {admitted}"
    if data_pods:
        assert any(
            any(_selects(p["spec"]["podSelector"], labels) for labels in data_pods)
            and "Ingress" in p["spec"]["policyTypes"]
            and p["spec"].get("ingress")
            for p in policies
        ), "the in-cluster data tier has no ingress policy"


# --- the migration before the rollout -------------------------------------------------------


def test_migration_is_a_job_ordered_before_the_rollout(objects: tuple[dict[str, Any], ...]) -> None:
    job = _get(objects, "Job", "sharestack-migrate")
    assert job["metadata"]["labels"]["sharestack.io/deploy-phase"] == "migrate"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    pod = _pod_template(job)["spec"]
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 3
    (migrate,) = pod["containers"]
    assert migrate["command"][-1] == "migrate"
    for name in ("sharestack-api", "sharestack-worker"):
        deployment = _get(objects, "Deployment", name)
        assert deployment["metadata"]["labels"]["sharestack.io/deploy-phase"] == "rollout", name
        (container,) = _pod_template(deployment)["spec"]["containers"]
        assert container["image"] == migrate["image"], f"{name} runs another image than migrate"
    (api,) = _pod_template(_get(objects, "Deployment", "sharestack-api"))["spec"]["containers"]
    assert "--no-migrate" in api["command"]
    phased = [o for o in objects if "sharestack.io/deploy-phase" in o["metadata"].get("labels", {})]
    assert {o["kind"] for o in phased} == {"Job", "Deployment"}


_FAKE_KUBECTL = textwrap.dedent(
    """\
    #!{python}
    # Stands in for kubectl in deploy.sh: renders with the real one, logs every other call.
    import os, subprocess, sys
    args = sys.argv[1:]
    if args[:1] == ["kustomize"]:
        sys.exit(subprocess.call([os.environ["REAL_KUBECTL"], *args]))
    with open(os.environ["KUBECTL_LOG"], "a") as log:
        log.write(" ".join(args) + "\\n")
    if "get" in args and "job" in args:
        print(os.environ["JOB_CONDITIONS"], end="")
    elif "get" in args and "deployment" in args and "-o" in args and "name" in args:
        print("deployment.apps/sharestack-api\\ndeployment.apps/sharestack-worker")
    """
)


def _run_deploy(tmp_path: Path, job_conditions: str) -> tuple[int, list[str]]:
    fake = tmp_path / "kubectl"
    fake.write_text(_FAKE_KUBECTL.format(python=sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    env = {
        **os.environ,
        "KUBECTL": str(fake),
        "REAL_KUBECTL": k8s.kubectl(),
        "KUBECTL_LOG": str(log),
        "JOB_CONDITIONS": job_conditions,
        "MIGRATE_TIMEOUT": "0",
    }
    image = f"{APP_IMAGE}@sha256:{'0' * 64}"
    result = subprocess.run(
        ["bash", str(DEPLOY_SCRIPT), "production", image],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, log.read_text().splitlines()


def _index(calls: list[str], needle: str) -> int:
    for i, call in enumerate(calls):
        if needle in call:
            return i
    raise AssertionError(f"no kubectl call with {needle!r} in:\n" + "\n".join(calls))


def test_deploy_script_applies_the_rollout_only_after_the_migration_completed(
    tmp_path: Path,
) -> None:
    code, calls = _run_deploy(tmp_path, "SuccessCriteriaMet Complete ")
    assert code == 0, calls
    config = _index(calls, "--selector !sharestack.io/deploy-phase")
    delete = _index(calls, "delete job sharestack-migrate")
    migrate = _index(calls, "--selector sharestack.io/deploy-phase=migrate")
    waited = _index(calls, "get job sharestack-migrate")
    rollout = _index(calls, "--selector sharestack.io/deploy-phase=rollout")
    status = _index(calls, "rollout status deployment.apps/sharestack-api")
    assert config < delete < migrate < waited < rollout < status
    assert all("--namespace sharestack" in c for c in calls if not c.startswith("apply"))


def test_deploy_script_stops_before_the_rollout_when_the_migration_fails(tmp_path: Path) -> None:
    code, calls = _run_deploy(tmp_path, "FailureTarget Failed ")
    assert code != 0
    _index(calls, "--selector sharestack.io/deploy-phase=migrate")
    assert not [c for c in calls if "deploy-phase=rollout" in c], calls


# --- nginx ----------------------------------------------------------------------------------


def test_nginx_gets_every_template_and_every_template_variable(
    overlay: str, objects: tuple[dict[str, Any], ...]
) -> None:
    nginx = _get(objects, "Deployment", "sharestack-nginx")
    pod = _pod_template(nginx)["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_maps = {
        o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"
    }
    shipped = set(config_maps[volumes["templates"]["configMap"]["name"]]) | set(
        config_maps[volumes["site-templates"]["configMap"]["name"]]
    )
    assert shipped == {p.name for p in template_files()}, (
        "a template is missing from deploy/nginx/kustomization.yaml"
    )

    (container,) = pod["containers"]
    (source,) = container["envFrom"]
    env = config_maps[source["configMapRef"]["name"]]
    assert template_variables() <= set(env)
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert env["NGINX_SITE_MODE"] == ("tls" if overlay == "production" else "plain")

    # nginx refuses what the API would refuse, before buffering it: at least MAX_BODY_BYTES.
    size = env["NGINX_CLIENT_MAX_BODY_SIZE"]
    units = {"k": 1024, "m": 1024 * 1024}
    nginx_bytes = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    (api,) = _pod_template(_get(objects, "Deployment", "sharestack-api"))["spec"]["containers"]
    api_settings = config_maps[api["envFrom"][0]["configMapRef"]["name"]]
    assert nginx_bytes >= int(api_settings["MAX_BODY_BYTES"])
    # The upload routes: exactly what the API accepts there (file plus multipart envelope).
    upload = int(api_settings["MEDIA_MAX_UPLOAD_BYTES"]) + int(
        api_settings["MEDIA_MULTIPART_OVERHEAD_BYTES"]
    )
    assert int(env["NGINX_MEDIA_CLIENT_MAX_BODY_SIZE"]) == upload

    # Per-pod upstreams: nginx resolves the headless API Service of this namespace.
    namespace = nginx["metadata"]["namespace"]
    assert (
        f"server sharestack-api.{namespace}.svc.cluster.local:8000 resolve"
        in env["NGINX_API_SERVERS"]
    )
    assert _get(objects, "Service", "sharestack-api")["spec"]["clusterIP"] == "None"
    ports = {p["containerPort"] for p in container["ports"]}
    assert {int(env["NGINX_HTTP_LISTEN"]), int(env["NGINX_HTTPS_LISTEN"])} == ports
    assert container["readinessProbe"]["httpGet"]["path"] == "/nginx-health"


def test_production_edge_keeps_the_client_address(objects: tuple[dict[str, Any], ...]) -> None:
    service = _get(objects, "Service", "sharestack-nginx")["spec"]
    if service["type"] == "LoadBalancer":
        # The per-IP rate limits key on the source address.
        assert service["externalTrafficPolicy"] == "Local"
    assert {p["port"] for p in service["ports"]} == {80, 443}


def test_production_uses_the_managed_data_tier() -> None:
    objects = _render("production")
    assert not [o for o in objects if o["kind"] in ("StatefulSet", "PersistentVolumeClaim")]
    (api,) = _pod_template(_get(objects, "Deployment", "sharestack-api"))["spec"]["containers"]
    env = {v["name"] for v in api["env"]}
    assert "DATABASE_REPLICA_URLS" in env
