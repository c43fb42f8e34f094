"""The Debian package (packaging/deb) and its systemd unit (packaging/systemd/porch.service):
built from the release binary, checked by lintian, installed here with `dpkg -i`, its unit
checked by `systemd-analyze verify` and `systemd-analyze security`, the service's command run
the way the unit runs it, then purged.

What cannot run here, and is not pretended: systemd is not PID 1 on this machine (nor in CI),
so `systemctl start porch` cannot run, and the unit's sandboxing is checked by systemd-analyze
only. The unit's ExecStart, User and EnvironmentFile are read from the installed unit and run
with setpriv; its LimitNOFILE=1048576 cannot be granted (the machine's hard open-file limit is
lower and root here may not raise it), so the start is given a soft limit of 1024 under the
machine's hard limit, and must raise it itself."""

from __future__ import annotations

import configparser
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from porch_harness import Porch
from ship import REPO_ROOT, RELEASE_BIN, free_port, run, wait_until

UNIT = Path("/lib/systemd/system/porch.service")
STATE_DIR = Path("/var/lib/porch")
# systemd-analyze security's overall exposure, 0-100 (its "1.4 OK" is 14): "OK" ends at 20.
EXPOSURE_MAX = 20


@pytest.fixture(scope="module")
def deb() -> Iterator[Path]:
    assert RELEASE_BIN.is_file(), f"no release build at {RELEASE_BIN} (cargo build --release --bin porch)"
    out = Path(tempfile.mkdtemp(prefix="porch-deb-"))
    try:
        built = run(str(REPO_ROOT / "packaging" / "deb" / "build.sh"), str(RELEASE_BIN), str(out))
        yield Path(built.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def purge() -> None:
    """Leaves the machine as it was: the package, the user and the store it made."""
    run("dpkg", "--purge", "porch", check=False)
    run("deluser", "--system", "--quiet", "porch", check=False)
    shutil.rmtree(STATE_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(deb: Path) -> Iterator[Path]:
    purge()
    run("dpkg", "-i", str(deb))
    try:
        yield deb
    finally:
        purge()


def unit_service_section() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser["Service"]


def test_lintian_finds_no_error_or_warning(deb: Path) -> None:
    # No man page yet, and no bug to close in the changelog of a package built from git.
    done = run("lintian", "--fail-on", "error,warning", "--suppress-tags",
               "no-manual-page,initial-upload-closes-no-bugs", str(deb), check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_installs_the_binary_the_user_and_the_unit(installed: Path) -> None:
    version = run("/usr/bin/porch", "--version").stdout.split()[1]
    assert f"porch_{version}-1_" in installed.name
    assert run("dpkg-query", "-W", "-f", "${Status}", "porch").stdout == "install ok installed"
    user = pwd.getpwnam("porch")
    assert user.pw_uid < 1000, "a system user"
    st = STATE_DIR.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (user.pw_uid, 0o700)
    conffiles = run("dpkg-query", "-W", "-f", "${Conffiles}", "porch").stdout
    assert "/etc/porch/porch.toml" in conffiles and "/etc/default/porch" in conffiles
    assert UNIT.is_file()


def test_the_unit_verifies_and_is_hardened(installed: Path) -> None:
    run("systemd-analyze", "verify", str(UNIT))
    security = run("systemd-analyze", "security", "--offline=yes", f"--threshold={EXPOSURE_MAX}", str(UNIT),
                   check=False)
    assert security.returncode == 0, security.stdout[-2000:]
    service = unit_service_section()
    assert service["LimitNOFILE"] == "1048576"
    assert service["User"] == "porch" and service["NoNewPrivileges"] == "yes"


class InstalledPorch(Porch):
    """The harness's REST helpers against the service's command as the unit runs it."""

    def __init__(self, port: int) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway_url = f"ws://127.0.0.1:{port}/api/v2/gateway"


def test_the_service_command_serves_as_porch_and_stops_on_sigterm(installed: Path) -> None:
    service = unit_service_section()
    command = shlex.split(service["ExecStart"])
    assert command[:2] == ["/usr/bin/porch", "serve"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORCH_")}
    env["PORCH_LISTEN"] = f"127.0.0.1:{port}"  # not the file's 8080: this machine is shared
    hard = int(run("sh", "-c", "ulimit -Hn").stdout)
    proc = subprocess.Popen(
        # setpriv executes porch as the user (no process in between, as systemd's User=).
        ["prlimit", "--nofile=1024:", "setpriv", f"--reuid={service['User']}", f"--regid={service['Group']}",
         "--init-groups", "--", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=service["WorkingDirectory"])
    lines: list[str] = []
    listening = threading.Event()

    def read() -> None:
        assert proc.stdout
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("listening on"):
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_until("the start line", lambda: listening.is_set() or proc.poll() is not None)
        assert listening.is_set(), f"porch exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
        start = next(l for l in lines if l.startswith("listening on"))
        assert re.search(rf"connections_max \d+ from the open-file limit {hard} \(raised from 1024", start), start
        porch = InstalledPorch(port)
        status, _, body = porch.api("GET", "/readyz")
        assert status == 200 and body["store"]["engine"] == "sqlite", body
        db = (STATE_DIR / "porch.db").stat()
        assert db.st_uid == pwd.getpwnam("porch").pw_uid, "the store belongs to the service's user"
        # An operator's command, as docs/deploy.md gives it, against the running service.
        made = run("runuser", "-u", "porch", "--", "/usr/bin/porch", "clients", "create", "--config",
                   "/etc/porch/porch.toml", "--name", "backend", "--scope", "guests", "--json")
        assert '"secret"' in made.stdout
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
