"""Helpers of tests/ship: where the release binary is, podman with the repository's
containers.conf, and waiting for a condition with a deadline."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
# The artifacts ship the release build (scripts/test.sh builds it for this stage).
RELEASE_BIN = Path(os.environ.get("PORCH_RELEASE_BIN") or TARGET_DIR / "release" / "porch")
CONTAINERS_CONF = REPO_ROOT / "packaging" / "container" / "containers.conf"
COMMAND_TIMEOUT_S = 120


def run(*args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_S, env_extra: dict[str, str] | None = None,
        **kw) -> subprocess.CompletedProcess[str]:
    """Runs a command (without the caller's PORCH_* settings, with `env_extra`); on failure,
    the exception shows its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCH_")}
    env |= {"CONTAINERS_CONF": str(CONTAINERS_CONF), **(env_extra or {})}
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}{done.stdout}")
    return done


def podman(*args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return run("podman", *args, check=check, timeout=timeout)


def wait_until(what: str, ready: Callable[[], bool], timeout_s: float = 30, every_s: float = 0.2) -> None:
    """Polls `ready` until it holds; fails naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(every_s)


def uids_of(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(l for l in status.splitlines() if l.startswith("Uid:"))
    return [int(x) for x in line.split()[1:]]


def free_port() -> int:
    """A loopback port free now (for a listener started next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(base_url: str) -> bool:
    """Whether GET /readyz answers 200 now."""
    try:
        with urllib.request.urlopen(base_url + "/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
