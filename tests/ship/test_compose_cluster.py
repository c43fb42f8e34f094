"""deploy/compose/compose.yaml's two Porch nodes, run: podman-compose starts porch-1 and porch-2
from the file, with the image built here, as a cluster on the machine's PostgreSQL and NATS
(their images, and Caddy's, cannot be pulled here). An override (written below) changes only
what that takes: host networking to reach them, their addresses, a database and a NATS subject
of this test's own, and no `ulimits` (the machine's hard open-file limit is below the file's
1048576, and root here may not raise it). Everything else is the file's: the image, the
variables' names and values, the health check. A guest on porch-1 and an agent on porch-2 talk
(the flow of tests/python/test_guest_flow.py), then `podman-compose stop` stops both cleanly."""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from porch_harness import Porch
from ship import REPO_ROOT, free_port, podman, ready, run, wait_until
from test_guest_flow import test_user_flow_guest_and_agent as guest_and_agent_flow

COMPOSE = REPO_ROOT / "deploy" / "compose" / "compose.yaml"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
NODES = ("porch-1", "porch-2")


class Node(Porch):
    """The harness's REST helpers against one node of the compose file."""

    def __init__(self, port: int, container: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway_url = f"ws://127.0.0.1:{port}/api/v2/gateway"
        self.container = container

    def cli(self, *args: str) -> dict:
        out = podman("exec", self.container, "/usr/bin/porch", *args, "--json").stdout
        return json.loads(out[out.index("{"): out.rindex("}") + 1])

    def ready(self) -> bool:
        return ready(self.base_url)


class TwoNodes(Node):
    """Guests on the first node, the agent on the second: every message crosses NATS."""

    def __init__(self, first: Node, second: Node) -> None:
        super().__init__(0, first.container)
        self.base_url, self.gateway_url = first.base_url, first.gateway_url
        self.second = second

    def agent_login(self) -> dict:
        self.second.agent = self.agent
        return self.second.agent_login()


def override(database: str, subject: str, ports: dict[str, int]) -> dict:
    services = {}
    for node, port in ports.items():
        services[node] = {
            "network_mode": "host",
            "networks": yaml.ScalarNode("!reset", ""),
            "depends_on": yaml.ScalarNode("!reset", ""),
            "ulimits": yaml.ScalarNode("!reset", ""),
            "environment": {
                "PORCH_STORE": f"{POSTGRES}/{database}",
                "PORCH_BROKER": "nats://127.0.0.1:4222",
                "PORCH_BROKER_SUBJECT": subject,
                "PORCH_LISTEN": f"127.0.0.1:{port}",
                "PORCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
            },
        }
    return {"services": services}


def dump_override(data: dict) -> str:
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(yaml.ScalarNode, lambda dumper, node: node)
    return yaml.dump(data, Dumper=Dumper)


@pytest.fixture(scope="module")
def cluster(image: str) -> Iterator[tuple[TwoNodes, list[str], dict[str, str]]]:
    project = f"porch-test-{secrets.token_hex(4)}"
    database = f"porch_compose_{secrets.token_hex(4)}"
    subject = f"porch.test.{secrets.token_hex(4)}"
    ports = {node: free_port() for node in NODES}
    compose = [str(Path(sys.executable).parent / "podman-compose"), "-p", project, "-f", str(COMPOSE)]
    env = {"PORCH_IMAGE": image, "POSTGRES_PASSWORD": "unused-here"}
    run("psql", f"{POSTGRES}/postgres", "-c", f"CREATE DATABASE {database}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        extra.write(dump_override(override(database, subject, ports)))
        extra.flush()
        compose += ["-f", extra.name]
        names: dict[str, str] = {}
        try:
            run(*compose, "up", "-d", "--no-deps", *NODES, env_extra=env)
            names.update({node: container_of(project, node) for node in NODES})
            nodes = [Node(ports[n], names[n]) for n in NODES]
            for node in nodes:
                wait_until(f"{node.container} ready (store and broker)", node.ready)
            both = TwoNodes(*nodes)
            both.client = both.cli("clients", "create", "--name", "backend", "--scope", "guests")
            both.agent = both.cli("agents", "create", "--name", "ann")
            both.deployment = both.cli("deployments", "create", "--name", "site", "--origin", both.base_url)
            yield both, compose, env
        finally:
            # The image's /data volume, unused by nodes on PostgreSQL: anonymous, so named here.
            volumes = [podman("inspect", c, "--format", "{{range .Mounts}}{{.Name}} {{end}}", check=False).stdout.split()
                       for c in names.values()]
            run(*compose, "down", "-v", env_extra=env, check=False)
            for volume in (v for vs in volumes for v in vs):
                podman("volume", "rm", volume, check=False)
            run("psql", f"{POSTGRES}/postgres", "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", check=False)


def container_of(project: str, service: str) -> str:
    out = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={project}",
                 "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}").stdout
    names = out.split()
    assert len(names) == 1, f"{service}: {names}"
    return names[0]


def test_both_nodes_are_healthy_by_the_files_health_check(cluster: tuple[TwoNodes, list[str], dict[str, str]]) -> None:
    both, _, _ = cluster
    for container in (both.container, both.second.container):
        podman("healthcheck", "run", container)
        logs = podman("logs", container).stderr.splitlines()
        lines = [json.loads(l) for l in logs if l.startswith("{")]
        assert lines, "PORCH_LOG_FORMAT=json from the file: JSON log lines"


def test_a_guest_on_one_node_and_an_agent_on_the_other_talk(cluster: tuple[TwoNodes, list[str], dict[str, str]]) -> None:
    both, _, _ = cluster
    guest_and_agent_flow(both)


def test_stopping_the_nodes_exits_0(cluster: tuple[TwoNodes, list[str], dict[str, str]]) -> None:
    both, compose, env = cluster
    run(*compose, "stop", *NODES, env_extra=env)
    for container in (both.container, both.second.container):
        code = podman("inspect", container, "--format", "{{.State.ExitCode}}").stdout.strip()
        assert code == "0", podman("logs", container, check=False).stderr[-2000:]
