"""A real `porch serve` for Python tests: temp data dir, records made with the porch CLI,
and REST calls with urllib only (the flow a customer's Python backend would run)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PORCH_BIN = os.environ.get("PORCH_BIN") or str(
    Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target") / "debug" / "porch"
)
START_TIMEOUT_S = 20
CLI_TIMEOUT_S = 20
HTTP_TIMEOUT_S = 10


def _env() -> dict[str, str]:
    """Our environment minus PORCH_* settings, so the caller's shell cannot change porch."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PORCH_")}


def _free_port() -> int:
    # Needed before `serve` starts: the deployment's allowed origin names the port.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Porch:
    def __init__(self, *store_args: str) -> None:
        """`store_args` (such as `--store postgres://…`) go to `serve` and every CLI call."""
        self.store_args = store_args
        self.data_dir = tempfile.mkdtemp(prefix="porch-py-")
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, *serve_args: str) -> "Porch":
        """Starts `porch serve` on a free port; `serve_args` are more flags for it."""
        port = _free_port()
        # The test's own records (the server makes no demo set-up without --demo). A store
        # restored from a backup comes with the records it had (set by the caller).
        if not hasattr(self, "client"):
            self.client = self.cli("clients", "create", "--name", "py-backend", "--scope", "guests")
            self.agent = self.cli("agents", "create", "--name", "py-agent")
            self.deployment = self.cli(
                "deployments", "create", "--name", "py-site", "--origin", f"http://127.0.0.1:{port}"
            )
        self.proc = subprocess.Popen(
            [PORCH_BIN, "serve", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{port}",
             *self.store_args, *serve_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )
        listening = threading.Event()
        pattern = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")

        def read_stdout() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.stdout.append(line)
                m = pattern.search(line)
                if m and not listening.is_set():
                    self.base_url = m.group(1)
                    listening.set()

        def read_stderr() -> None:
            assert self.proc and self.proc.stderr
            for line in self.proc.stderr:
                self.stderr.append(line)
                del self.stderr[:-500]  # keep the tail only

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited with {self.proc.returncode}" if self.proc.poll() is not None else "timed out"
                self.stop()
                raise RuntimeError(
                    f"porch serve {why} before printing 'listening on'\n--- stderr ---\n"
                    + "".join(self.stderr) + "--- stdout ---\n" + "".join(self.stdout)
                )
        if not self.base_url.endswith(f":{port}"):
            self.stop()
            raise RuntimeError(f"asked for port {port}, porch says {self.base_url}")
        self.gateway_url = self.base_url.replace("http://", "ws://", 1) + "/api/v2/gateway"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def cli(self, *args: str) -> dict:
        cmd = [PORCH_BIN, *args, "--data-dir", self.data_dir, *self.store_args, "--json"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=_env())
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
        out = done.stdout
        return json.loads(out[out.index("{"): out.rindex("}") + 1])

    # --- REST --------------------------------------------------------------------------------

    def api(self, method: str, path: str, *, bearer: str | None = None, basic: tuple[str, str] | None = None,
            json_body: dict | None = None, form: dict | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict, dict | str]:
        """One request; returns (status, headers, body parsed as JSON when it is JSON)."""
        headers = dict(headers or {})
        data = None
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if basic:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body).encode()
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as res:
                status, hdrs, raw = res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, dict(e.headers), e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, hdrs, json.loads(text)
        except ValueError:
            return status, hdrs, text

    def expect(self, status: int, method: str, path: str, **kw) -> dict:
        got, _, body = self.api(method, path, **kw)
        assert got == status, f"{method} {path}: expected {status}, got {got}: {body}"
        return body  # type: ignore[return-value]

    def client_token(self) -> str:
        body = self.expect(200, "POST", "/api/v2/oauth/token", basic=(self.client["id"], self.client["secret"]),
                           form={"grant_type": "client_credentials", "scope": "guests"})
        return body["access_token"]

    def create_guest(self, display_name: str = "Py Guest") -> dict:
        return self.expect(201, "POST", "/api/v2/webmessaging/guests", bearer=self.client_token(),
                           json_body={"deploymentId": self.deployment["id"], "displayName": display_name})

    def agent_login(self) -> dict:
        return self.expect(200, "POST", "/api/v2/agents/login",
                           json_body={"name": self.agent["name"], "secret": self.agent["secret"]})
