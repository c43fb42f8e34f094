"""deploy/compose/Caddyfile, run: Debian's caddy terminates TLS (its internal CA, as with
PORCH_TLS=internal) in front of a real porch (the release build), and a guest and an agent talk
through it over wss:// with Python's `websockets` (the flow of tests/python/test_guest_flow.py).
The Caddyfile is adapted to JSON first only to keep this shared machine's ports 80 and 2019
free (no HTTP redirect listener, no admin endpoint); the site block is the file's own."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import porch_harness
from porch_harness import Porch
from ship import REPO_ROOT, RELEASE_BIN, free_port, ready, run, wait_until
from test_guest_flow import test_user_flow_guest_and_agent as guest_and_agent_flow

CADDYFILE = REPO_ROOT / "deploy" / "compose" / "Caddyfile"


@pytest.fixture(scope="module")
def proxied(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Porch]:
    tls_port = free_port()
    site = f"https://localhost:{tls_port}"
    monkeypatch_module.setattr(porch_harness, "PORCH_BIN", str(RELEASE_BIN))
    porch = Porch().start("--public-url", site, "--trusted-proxy", "127.0.0.1")
    home = Path(tempfile.mkdtemp(prefix="porch-caddy-"))
    env = {"PORCH_SITE": f"localhost:{tls_port}", "PORCH_TLS": "internal",
           "PORCH_UPSTREAMS": porch.base_url.removeprefix("http://"),
           "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    adapted = json.loads(run("caddy", "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile",
                             env_extra=env).stdout)
    adapted["admin"] = {"disabled": True}
    for server in adapted["apps"]["http"]["servers"].values():
        server.setdefault("automatic_https", {})["disable_redirects"] = True
    (home / "caddy.json").write_text(json.dumps(adapted))
    caddy = subprocess.Popen(["caddy", "run", "--config", str(home / "caddy.json")],
                             env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root_ca = home / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        wait_until("caddy's internal CA", lambda: root_ca.is_file() or caddy.poll() is not None)
        assert caddy.poll() is None, caddy.stderr.read() if caddy.stderr else ""
        # urllib and websockets build their TLS contexts from the default paths: Caddy's CA.
        monkeypatch_module.setenv("SSL_CERT_FILE", str(root_ca))
        porch.base_url = site
        porch.gateway_url = f"wss://localhost:{tls_port}/api/v2/gateway"
        wait_until("GET /readyz through caddy", lambda: ready(site))
        yield porch
    finally:
        caddy.terminate()
        caddy.wait(timeout=30)
        porch.stop()
        run("rm", "-rf", str(home))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as m:
        yield m


def test_porch_names_the_proxy_url_for_the_browser(proxied: Porch) -> None:
    guest = proxied.create_guest("Tess")
    assert guest["gatewayUrl"] == proxied.gateway_url, "wss:// on the proxy, from --public-url"


def test_a_guest_and_an_agent_talk_through_caddy_over_tls(proxied: Porch) -> None:
    guest_and_agent_flow(proxied)
