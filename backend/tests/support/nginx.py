"""nginx with the project's own configuration, on loopback.

The files in ``deploy/nginx/templates`` are what production runs: nginx's official image renders
them with envsubst. Here the same files are rendered by plain ``${VAR}`` substitution, with
loopback ports and paths under a temporary directory, and Debian's nginx runs them. Nothing in the
configuration is rewritten for tests beyond the template variables.

Also a small command line used by ``make check-deploy``::

    python -m tests.support.nginx check     # render both site modes and run ``nginx -t`` on them
"""

from __future__ import annotations

import getpass
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sharestack.config import Settings
from tests.support.processes import ManagedProcess, free_port, port_open, require_binary, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_DIR = REPO_ROOT / "deploy" / "nginx" / "templates"
BOOTSTRAP_CERT = REPO_ROOT / "deploy" / "certbot" / "bootstrap-cert.sh"
TEMPLATE_SUFFIX = ".template"

# Only upper-case names are template variables; nginx's own variables ($host, $request_id) are
# lower-case, and envsubst in the official image leaves them alone for the same reason.
_TEMPLATE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def template_files(src: Path = TEMPLATE_DIR) -> list[Path]:
    return sorted(p for p in src.rglob(f"*{TEMPLATE_SUFFIX}") if p.is_file())


def template_variables(src: Path = TEMPLATE_DIR) -> set[str]:
    """Every ``${VAR}`` the templates use: what the compose file must give the nginx service."""
    names: set[str] = set()
    for path in template_files(src):
        names.update(_TEMPLATE_VAR.findall(path.read_text()))
    return names


def render_templates(dst: Path, variables: Mapping[str, str], src: Path = TEMPLATE_DIR) -> Path:
    """Render every template under ``src`` into ``dst`` keeping the tree, as the official image's
    entrypoint does with ``NGINX_ENVSUBST_OUTPUT_DIR=/etc/nginx``. Returns ``dst/nginx.conf``.

    A variable the templates use but ``variables`` lacks is an error (envsubst would leave it in
    place and nginx would fail later with a less helpful message)."""
    missing = template_variables(src) - set(variables)
    if missing:
        raise KeyError(f"nginx template variables without a value: {sorted(missing)}")
    for path in template_files(src):
        out = dst / path.relative_to(src).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        text = _TEMPLATE_VAR.sub(lambda m: variables[m.group(1)], path.read_text())
        out.write_text(text)
    return dst / "nginx.conf"


@dataclass(frozen=True)
class EdgeLayout:
    """Where one throwaway nginx keeps everything, and the ports it listens on."""

    root: Path
    http_port: int
    https_port: int

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "nginx.conf"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def access_log(self) -> Path:
        return self.logs / "access.json"

    @property
    def error_log(self) -> Path:
        return self.logs / "error.log"

    @property
    def static_root(self) -> Path:
        return self.root / "static"

    @property
    def media_root(self) -> Path:
        return self.root / "media"

    @property
    def acme_root(self) -> Path:
        return self.root / "acme"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def cert_file(self) -> Path:
        return self.tls_dir / "fullchain.pem"

    @classmethod
    def create(cls, root: Path) -> EdgeLayout:
        layout = cls(root=root, http_port=free_port(), https_port=free_port())
        for d in (
            layout.conf_dir,
            layout.logs,
            root / "tmp",
            layout.static_root,
            layout.media_root / "public",
            layout.media_root / "protected",
            layout.acme_root / ".well-known" / "acme-challenge",
            layout.tls_dir,
        ):
            d.mkdir(parents=True, exist_ok=True)
        return layout

    def variables(self, api_servers: Sequence[str], site_mode: str = "tls") -> dict[str, str]:
        """Template values for this layout; the compose file gives the container's values."""
        servers = " ".join(f"server {s} max_fails=3 fail_timeout=10s;" for s in api_servers)
        return {
            # Workers run as the user running the test, so temp dirs created 0700 stay readable.
            "NGINX_USER": getpass.getuser(),
            "NGINX_WORKER_PROCESSES": "1",
            "NGINX_PID_PATH": str(self.logs / "nginx.pid"),
            "NGINX_ERROR_LOG": str(self.error_log),
            "NGINX_ACCESS_LOG": str(self.access_log),
            "NGINX_TEMP_DIR": str(self.root / "tmp"),
            "NGINX_CLIENT_MAX_BODY_SIZE": "10m",
            # What the API's default settings accept on the upload routes.
            "NGINX_MEDIA_CLIENT_MAX_BODY_SIZE": str(
                Settings(_env_file=None).media_upload_body_bytes
            ),
            "NGINX_API_SERVERS": servers,
            "NGINX_SITE_MODE": site_mode,
            "NGINX_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            "NGINX_HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "NGINX_HTTPS_REDIRECT_PORT": f":{self.https_port}",
            "NGINX_SERVER_NAME": "localhost",
            "NGINX_TLS_CERT": str(self.cert_file),
            "NGINX_TLS_KEY": str(self.tls_dir / "privkey.pem"),
            "NGINX_ACME_ROOT": str(self.acme_root),
            "NGINX_STATIC_ROOT": str(self.static_root),
            "NGINX_MEDIA_ROOT": str(self.media_root),
        }


def bootstrap_certificate(tls_dir: Path, name: str = "localhost") -> Path:
    """A self-signed certificate made by the project's own bootstrap script (the one the certbot
    service runs before the first issuance), valid for ``name`` and 127.0.0.1."""
    require_binary("openssl")
    subprocess.run(
        ["sh", str(BOOTSTRAP_CERT), str(tls_dir), name, "IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return tls_dir / "fullchain.pem"


def nginx_argv(layout: EdgeLayout, *extra: str) -> list[str]:
    return [
        require_binary("nginx"),
        "-p",
        str(layout.root),
        "-c",
        str(layout.conf_file),
        "-e",
        str(layout.error_log),
        *extra,
    ]


def config_test(layout: EdgeLayout) -> subprocess.CompletedProcess[str]:
    return subprocess.run(nginx_argv(layout, "-t"), capture_output=True, text=True, check=False)


def prepare(root: Path, api_servers: Sequence[str], site_mode: str = "tls") -> EdgeLayout:
    """Render the project's templates and a bootstrap certificate into ``root``."""
    layout = EdgeLayout.create(root)
    render_templates(layout.conf_dir, layout.variables(api_servers, site_mode))
    bootstrap_certificate(layout.tls_dir)
    return layout


def start_nginx(layout: EdgeLayout) -> ManagedProcess:
    """Test the configuration, start nginx in the foreground (its master is the PID we keep) and
    wait until it serves its own health location. Start the upstreams first: nginx counts the
    refused connections of upstreams that are not listening yet against max_fails."""
    result = config_test(layout)
    if result.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{result.stderr}")
    proc = ManagedProcess(
        "nginx",
        nginx_argv(layout, "-g", "daemon off;"),
        layout.logs / "nginx.stdout.log",
    ).start()
    wait_until(lambda: port_open(layout.http_port), 10, "nginx to listen", proc)
    return proc


def stop_nginx(proc: ManagedProcess) -> None:
    # QUIT is nginx's graceful stop; the master takes its workers down with it.
    proc.stop(signal.SIGQUIT)


def _check() -> int:
    """Render both site modes with loopback values and run ``nginx -t`` on each."""
    failures = 0
    for mode in ("tls", "plain"):
        with tempfile.TemporaryDirectory(prefix=f"ss_edge_check_{mode}_") as tmp:
            layout = prepare(Path(tmp), ["127.0.0.1:9", "127.0.0.1:10"], mode)
            result = config_test(layout)
            status = "ok" if result.returncode == 0 else "FAILED"
            print(f"nginx -t ({mode} mode): {status}")
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] != ["check"]:
        print("usage: python -m tests.support.nginx check", file=sys.stderr)
        sys.exit(2)
    sys.exit(_check())
