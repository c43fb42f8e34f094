"""tests/ship: the artifacts operators deploy (container image, Debian package, compose file,
Kubernetes manifests, systemd unit), built and exercised. The Python e2e harness
(tests/python/porch_harness.py) drives the server inside them, as a customer's backend would."""

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ship import REPO_ROOT, RELEASE_BIN, podman, run  # noqa: E402


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """Porch's image, built once per run from the release binary (packaging/container)."""
    assert RELEASE_BIN.is_file(), f"no release build at {RELEASE_BIN} (cargo build --release --bin porch)"
    tag = f"localhost/porch:test-{secrets.token_hex(4)}"
    run(str(REPO_ROOT / "packaging" / "container" / "build.sh"), str(RELEASE_BIN), tag)
    try:
        yield tag
    finally:
        podman("rmi", "-f", tag, check=False)
