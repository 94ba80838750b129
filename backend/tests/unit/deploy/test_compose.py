"""The compose files describe the topology the project promises (no engine needed: parsing only).

`docker-compose config -q` and the Compose-spec schema check (make check-deploy) prove the files
are valid; these tests prove they say the right things: which services run, that every
long-running one has a healthcheck, that data lives in named volumes, that nginx cannot reach
the data network, that secrets are required rather than defaulted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.nginx import template_variables

REPO = Path(__file__).resolve().parents[4]
COMPOSE = REPO / "docker-compose.yml"
OVERRIDE = REPO / "docker-compose.override.yml"

SERVICES = {
    "api", "worker", "migrate", "db-primary", "db-replica", "redis", "redis-replica",
    "redis-cache", "sentinel-1", "sentinel-2", "sentinel-3", "nginx", "certbot", "backup",
}  # fmt: skip
ONE_SHOT = {"migrate"}
DATA_SERVICES = {
    "db-primary", "db-replica", "redis", "redis-replica", "redis-cache",
    "sentinel-1", "sentinel-2", "sentinel-3",
}  # fmt: skip
# Where each stateful service keeps its data; each must be a named volume.
DATA_PATHS = {
    "db-primary": "/var/lib/mysql",
    "db-replica": "/var/lib/mysql",
    "redis": "/data",
    "redis-replica": "/data",
    "sentinel-1": "/data",
    "certbot": "/etc/letsencrypt",
    "backup": "/backups",
}
SECRETS = (
    "SECRET_KEY", "MYSQL_ROOT_PASSWORD", "MYSQL_APP_PASSWORD", "MYSQL_REPLICATION_PASSWORD",
    "MYSQL_BACKUP_PASSWORD", "REDIS_PASSWORD", "SENTINEL_PASSWORD",
)  # fmt: skip


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def override() -> dict[str, Any]:
    return _load(OVERRIDE)


def _services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = doc["services"]
    assert isinstance(services, dict)
    return services


def _volume_sources(service: dict[str, Any]) -> dict[str, str]:
    """container path -> source, for short-syntax volume entries."""
    mounts: dict[str, str] = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        mounts[target] = source
    return mounts


def test_every_service_of_the_topology_is_there(compose: dict[str, Any]) -> None:
    assert set(_services(compose)) == SERVICES


def test_api_runs_at_least_two_replicas_of_one_image(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert services["api"]["deploy"]["replicas"] >= 2
    images = {services[name]["image"] for name in ("api", "worker", "migrate")}
    assert len(images) == 1, "api, worker and migrate must run the same image"
    assert "serve" in services["api"]["command"]
    assert "migrate" in services["migrate"]["command"]


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test form"
        assert service.get("restart") == "unless-stopped", f"{name} is not restarted"


def test_startup_order_waits_for_health_and_for_the_migration(compose: dict[str, Any]) -> None:
    services = _services(compose)
    api_deps = services["api"]["depends_on"]
    assert api_deps["migrate"]["condition"] == "service_completed_successfully"
    for dep in ("db-primary", "db-replica", "redis", "redis-cache", "sentinel-1"):
        assert api_deps[dep]["condition"] == "service_healthy", dep
    assert services["migrate"]["depends_on"]["db-primary"]["condition"] == "service_healthy"
    assert services["db-replica"]["depends_on"]["db-primary"]["condition"] == "service_healthy"
    nginx_deps = services["nginx"]["depends_on"]
    assert nginx_deps["api"]["condition"] == "service_healthy"
    # The bootstrap certificate exists before nginx starts.
    assert nginx_deps["certbot"]["condition"] == "service_healthy"


def test_data_lives_in_declared_named_volumes(compose: dict[str, Any]) -> None:
    services = _services(compose)
    declared = set(compose["volumes"])
    for name, path in DATA_PATHS.items():
        source = _volume_sources(services[name]).get(path)
        assert source is not None, f"{name} does not mount {path}"
        assert not source.startswith((".", "/")), f"{name}:{path} is a bind mount, not a volume"
        assert source in declared, f"{name}: volume {source} is not declared"
    for name, service in services.items():
        for source in _volume_sources(service).values():
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_data_network_is_internal_and_nginx_is_not_on_it(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert compose["networks"]["data"]["internal"] is True
    assert list(services["nginx"]["networks"]) == ["edge"]
    assert set(services["api"]["networks"]) == {"edge", "data"}
    for name in DATA_SERVICES | {"worker", "migrate", "backup"}:
        assert list(services[name]["networks"]) == ["data"], name


def test_every_service_has_resource_limits(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"memory", "cpus"} <= set(limits), f"{name} has no resource limits"


def test_third_party_images_are_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        image = service["image"]
        if name in ("api", "worker", "migrate", "backup"):
            continue  # built from this repository: a commit tag or digest chosen by the deploy
        tag = image.rsplit(":", 1)[-1]
        assert re.match(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_secrets_are_required_never_defaulted() -> None:
    text = COMPOSE.read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, f"{secret} is not used"
        for suffix in uses:
            assert suffix.startswith(":?"), f"${{{secret}{suffix}}} must be required (:?)"


def test_nginx_gets_every_template_variable(compose: dict[str, Any]) -> None:
    env = _services(compose)["nginx"]["environment"]
    assert template_variables() <= set(env)
    mounts = _volume_sources(_services(compose)["nginx"])
    assert mounts["/etc/nginx/templates"] == "./deploy/nginx/templates"
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert env["NGINX_SITE_MODE"] == "tls"


def test_backup_runs_the_data_tier_entry_point_daily(compose: dict[str, Any]) -> None:
    backup = _services(compose)["backup"]
    # The image's entry point is deploy/backup/backup.sh; `schedule` archives binlogs
    # continuously and takes the daily backup.
    assert backup["build"]["dockerfile"] == "deploy/backup/Dockerfile"
    assert backup["command"] == ["schedule"]
    assert "MYSQL_REPLICATION_PASSWORD" in backup["environment"]
    dockerfile = (COMPOSE.parent / "deploy/backup/Dockerfile").read_text()
    assert 'ENTRYPOINT ["/opt/sharestack/backup/backup.sh"]' in dockerfile


def test_files_avoid_what_docker_compose_1_29_rejects(
    compose: dict[str, Any], override: dict[str, Any]
) -> None:
    for doc in (compose, override):
        assert not {"name", "include"} & set(doc)
        for service in doc["services"].values():
            assert "develop" not in service
            for dep in (service.get("depends_on") or {}).values():
                assert "restart" not in dep


def test_override_is_the_developer_setup(override: dict[str, Any]) -> None:
    services = _services(override)
    assert "--reload" in services["api"]["command"]
    assert "./backend/sharestack:/app/sharestack:ro" in services["api"]["volumes"]
    assert services["nginx"]["environment"]["NGINX_SITE_MODE"] == "plain"
    assert services["certbot"]["environment"]["CERTBOT_ISSUE"] == "false"
    for name in ("db-primary", "db-replica", "redis", "redis-cache"):
        ports = services[name]["ports"]
        assert ports, name
        assert all(p.startswith("127.0.0.1:") for p in ports), name
    assert override["networks"]["data"]["internal"] is False


def test_nginx_upload_limit_matches_the_api() -> None:
    """nginx's body limit for the upload routes is the API's: MEDIA_MAX_UPLOAD_BYTES plus the
    multipart envelope (a smaller one refuses uploads the API takes, a larger one buffers bodies
    the API then refuses)."""
    compose = yaml.safe_load(COMPOSE.read_text())
    api_env = compose["services"]["api"]["environment"]
    nginx_env = compose["services"]["nginx"]["environment"]
    upload = int(api_env["MEDIA_MAX_UPLOAD_BYTES"]) + int(api_env["MEDIA_MULTIPART_OVERHEAD_BYTES"])
    assert int(nginx_env["NGINX_MEDIA_CLIENT_MAX_BODY_SIZE"]) == upload
    assert api_env["MEDIA_ACCEL_REDIRECT"] == "true"
    assert "media-files:/srv/sharestack/media" in compose["services"]["worker"]["volumes"]
