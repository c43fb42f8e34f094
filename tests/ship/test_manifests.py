"""The cluster files operators copy: deploy/compose (compose file, Caddyfile) and
deploy/kubernetes (Deployment, Service, PodDisruptionBudget, ConfigMap, Secret). Their images
(PostgreSQL, NATS, Caddy) cannot be pulled on this machine, so they are validated with the
registries' tools (check-jsonschema with the compose-spec schema, podman-compose's own reading,
caddy validate, kubernetes-validate), the settings they give Porch are read by Porch's own
parser, and the references between them (names, labels, ports, probes) are held to each other."""

from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml

from ship import REPO_ROOT, RELEASE_BIN, run

COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
KUBE_DIR = REPO_ROOT / "deploy" / "kubernetes"
VENV_BIN = Path(sys.executable).parent  # the tools come with this venv (requirements.txt)
# The oldest Kubernetes with preStop's sleep action (the image has no shell), and the newest.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
IMAGE_UID = 65532  # packaging/container/Containerfile's USER


def compose_config(env: dict[str, str]) -> dict:
    done = run(str(VENV_BIN / "podman-compose"), "-f", str(COMPOSE_DIR / "compose.yaml"), "config",
               check=False, env_extra=env)
    assert done.returncode == 0, done.stderr + done.stdout
    return yaml.safe_load(done.stdout)


def kube(name: str) -> dict:
    return yaml.safe_load((KUBE_DIR / name).read_text())


# --- compose ---------------------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_spec() -> None:
    run(str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
        str(COMPOSE_DIR / "compose.yaml"))


def test_the_compose_file_refuses_to_start_without_a_database_password() -> None:
    done = run(str(VENV_BIN / "podman-compose"), "-f", str(COMPOSE_DIR / "compose.yaml"), "config",
               check=False, env_extra={"POSTGRES_PASSWORD": ""})
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr + done.stdout


def test_the_compose_cluster_is_two_nodes_behind_the_proxy_on_one_store() -> None:
    config = compose_config({"POSTGRES_PASSWORD": "s3cret"})
    services = config["services"]
    assert {"postgres", "nats", "porch-1", "porch-2", "proxy"} <= set(services)
    nodes = [services["porch-1"], services["porch-2"]]
    envs = [n["environment"] for n in nodes]
    assert envs[0]["PORCH_NODE_ID"] != envs[1]["PORCH_NODE_ID"]
    for key in ("PORCH_STORE", "PORCH_BROKER", "PORCH_BROKER_SUBJECT", "PORCH_PUBLIC_URL"):
        assert envs[0][key] == envs[1][key], key
    assert envs[0]["PORCH_STORE"] == "postgres://porch:s3cret@postgres:5432/porch"
    assert envs[0]["PORCH_BROKER"] == "nats://nats:4222"
    for node in nodes:
        assert node["healthcheck"]["test"] == ["CMD", "/usr/bin/porch", "health"]
        assert node["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert node["ulimits"]["nofile"]["soft"] == node["ulimits"]["nofile"]["hard"]
    proxy = services["proxy"]
    upstreams = proxy["environment"]["PORCH_UPSTREAMS"].split()
    assert upstreams == ["porch-1:8080", "porch-2:8080"], "the proxy sends to both nodes' listen port"
    assert proxy["networks"]["porch"]["ipv4_address"] == envs[0]["PORCH_TRUSTED_PROXIES"], \
        "Porch trusts X-Forwarded-For from the proxy, and only from it"
    assert {"443:443"} <= {str(p) if isinstance(p, str) else f"{p['published']}:{p['target']}" for p in proxy["ports"]}


def test_the_caddyfile_is_valid_for_caddy() -> None:
    env = {"PORCH_SITE": "chat.localhost", "PORCH_TLS": "internal", "PORCH_UPSTREAMS": "porch-1:8080 porch-2:8080"}
    with tempfile.TemporaryDirectory() as home:
        run("caddy", "validate", "--config", str(COMPOSE_DIR / "Caddyfile"), "--adapter", "caddyfile",
            env_extra={**env, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home})


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_kubernetes_manifests_validate_strictly(version: str) -> None:
    files = sorted(str(p) for p in KUBE_DIR.glob("*.yaml"))
    assert len(files) == 5
    run(str(VENV_BIN / "kubernetes-validate"), "--strict", "-k", version, *files)


def test_the_validator_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = kube("deployment.yaml")
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["paht"] = container["readinessProbe"]["httpGet"].pop("path")
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump(broken))
    done = run(str(VENV_BIN / "kubernetes-validate"), "--strict", str(tmp_path / "deployment.yaml"), check=False)
    assert done.returncode != 0, done.stdout


def test_the_deployment_probes_drains_and_names_what_exists() -> None:
    deployment, service, pdb = kube("deployment.yaml"), kube("service.yaml"), kube("pdb.yaml")
    config, secret = kube("configmap.yaml"), kube("secret.yaml")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"], "a drain can proceed"
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["spec"]["terminationGracePeriodSeconds"]
    port = container["ports"][0]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    toml = tomllib.loads(config["data"]["porch.toml"])
    assert toml["listen"].endswith(f":{port['containerPort']}") and toml["listen"].startswith("0.0.0.0")
    assert pod["spec"]["securityContext"]["runAsUser"] == IMAGE_UID
    ref = next(e for e in container["env"] if e["name"] == "PORCH_STORE")["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"] in secret["stringData"]) == (secret["metadata"]["name"], True)
    volume = next(v for v in pod["spec"]["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert container["args"] == ["serve", "--config", f"{mount['mountPath']}/porch.toml"]


# --- the settings these files give Porch -----------------------------------------------------


def porch_reads(config_text: str) -> None:
    """Porch's own parser reads the file (unknown keys and wrong types are refused)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "porch.toml"
        path.write_text(config_text)
        done = run(str(RELEASE_BIN), "clients", "list", "--config", str(path), "--data-dir", f"{tmp}/data",
                   "--store", "sqlite", "--json", check=False)
        assert done.returncode == 0, done.stderr


def test_porch_reads_the_configuration_files_shipped() -> None:
    porch_reads(kube("configmap.yaml")["data"]["porch.toml"])
    porch_reads((REPO_ROOT / "packaging" / "porch.toml").read_text())
    with pytest.raises(AssertionError, match="unknown field"):
        porch_reads('listn = "0.0.0.0:8080"\n')
