"""The container image (packaging/container), built FROM scratch with buildah from the release
binary and run with podman as an operator would: `podman run -p … -v …:/data`. Checks /readyz
and the image's HEALTHCHECK, a guest's round trip with an agent through the published port
(Python's `websockets`, the flow of tests/python/test_guest_flow.py), that the process is not
root, and that SIGTERM (`podman stop`) closes every socket with 4200 and exits 0."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from porch_harness import Porch
from ship import free_port, podman, ready, uids_of, wait_until
# The same flow as the Python e2e suite, here through the container's published port.
from test_guest_flow import MARKER, WAIT_S, test_user_flow_guest_and_agent as guest_and_agent_flow

IMAGE_BYTES_MAX = 64 * 1024 * 1024  # "small": the binary and glibc, no distribution
NON_ROOT_UID = 65532
STOP_TIMEOUT_S = 30


class ContainerPorch(Porch):
    """The harness's REST helpers, against Porch in a container; records made with the
    image's own `porch` CLI (`podman exec`) in the container's /data."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.name = f"porch-test-{secrets.token_hex(4)}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.gateway_url = f"ws://127.0.0.1:{self.port}/api/v2/gateway"

    def start(self) -> "ContainerPorch":
        podman("run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8080",
               "-e", f"PORCH_PUBLIC_URL={self.base_url}", self.image)
        wait_until("GET /readyz through the published port", self.ready)
        self.client = self.cli("clients", "create", "--name", "backend", "--scope", "guests")
        self.agent = self.cli("agents", "create", "--name", "ann")
        self.deployment = self.cli("deployments", "create", "--name", "site", "--origin", self.base_url)
        return self

    def ready(self) -> bool:
        return ready(self.base_url)

    def cli(self, *args: str) -> dict:
        out = podman("exec", self.name, "/usr/bin/porch", *args, "--json").stdout
        return json.loads(out[out.index("{"): out.rindex("}") + 1])

    def inspect(self, template: str) -> str:
        return podman("inspect", self.name, "--format", template).stdout.strip()

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def stop(self) -> None:
        podman("rm", "-f", "-v", self.name, check=False)


@pytest.fixture(scope="module")
def porch(image: str) -> Iterator[ContainerPorch]:
    p = ContainerPorch(image)
    try:
        yield p.start()
    except BaseException:
        print(p.logs())
        raise
    finally:
        p.stop()


def test_the_image_is_small_and_declares_how_to_run_it(image: str) -> None:
    config = json.loads(podman("image", "inspect", image).stdout)[0]
    assert config["Size"] < IMAGE_BYTES_MAX, f"{config['Size']} bytes"
    c = config["Config"]
    assert c["User"] == f"{NON_ROOT_UID}:{NON_ROOT_UID}"
    assert "/data" in c["Volumes"]
    assert "8080/tcp" in c["ExposedPorts"]
    assert "PORCH_LISTEN=0.0.0.0:8080" in c["Env"]
    assert config["Healthcheck"]["Test"] == ["CMD", "/usr/bin/porch", "health"]
    assert c["StopSignal"] in ("SIGTERM", "15")


def test_ready_and_healthy(porch: ContainerPorch) -> None:
    status, _, body = porch.api("GET", "/readyz")
    assert status == 200, body
    assert body["status"] == "ready" and body["store"]["engine"] == "sqlite", body
    # The image's own HEALTHCHECK command, as the runtime runs it (no systemd timer here).
    podman("healthcheck", "run", porch.name)
    assert porch.inspect("{{.State.Health.Status}}") == "healthy"


def test_the_server_is_not_root(porch: ContainerPorch) -> None:
    pid = int(porch.inspect("{{.State.Pid}}"))
    assert uids_of(pid) == [NON_ROOT_UID] * 4, "porch runs as uid 65532, on the host too"
    # The store it opened is in the /data volume, owned by that user, private to it.
    volume = Path(porch.inspect('{{range .Mounts}}{{if eq .Destination "/data"}}{{.Source}}{{end}}{{end}}'))
    db = (volume / "porch.db").stat()
    assert (db.st_uid, db.st_gid, db.st_mode & 0o777) == (NON_ROOT_UID, NON_ROOT_UID, 0o600)
    assert volume.stat().st_uid == NON_ROOT_UID


def test_a_guest_and_an_agent_talk_through_the_container(porch: ContainerPorch) -> None:
    guest_and_agent_flow(porch)


def test_sigterm_closes_sockets_with_4200_and_exits_0(porch: ContainerPorch) -> None:
    async def flow() -> int:
        guest = porch.create_guest("Stop")
        async with websockets.connect(guest["gatewayUrl"], subprotocols=[MARKER, guest["accessToken"]],
                                      open_timeout=WAIT_S) as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "ready"
            stop = asyncio.create_task(asyncio.to_thread(
                podman, "stop", "-t", str(STOP_TIMEOUT_S), porch.name, timeout=STOP_TIMEOUT_S + 30))
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    while True:
                        await ws.recv()
            await stop
            assert closed.value.rcvd is not None, "a close frame, not a dropped connection"
            return closed.value.rcvd.code

    assert asyncio.run(flow()) == 4200
    # Exit 0 on its own: 137 would mean podman gave up waiting and sent SIGKILL.
    assert porch.inspect("{{.State.ExitCode}}") == "0", porch.logs()
    assert "stopped" in porch.logs()
