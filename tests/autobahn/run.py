#!/usr/bin/env python3
"""RFC 6455 conformance of Porch's gateway frame layer, measured by the Autobahn TestSuite.

Starts `porch serve` with tests/autobahn/porch.toml (the conformance echo on, 16 MiB messages)
on a temp data dir and a free loopback port, runs Autobahn's fuzzing client (every case, or
--cases), and compares each case's `behavior`, `behaviorClose` and `remoteCloseCode` with
tests/autobahn/expected-results.json (durations and report file names are left out: they
change from run to run). Exits non-zero on any difference, on any FAILED / WRONG CODE /
UNCLEAN / FAILED BY CLIENT outcome even if the expected file says so, and if porch exits or
panics during the run. See docs/conformance.md.

Usage:
  tests/autobahn/run.py                 # every case, diffed against the expected file
  tests/autobahn/run.py --cases '1.*,7.*'   # a subset (shell-style patterns), diffed alike
  tests/autobahn/run.py --update        # every case, rewrites the expected file

Environment: PORCH_BIN (else $CARGO_TARGET_DIR/debug/porch, else target/debug/porch);
PORCH_PYTHON27 (else pyenv's 2.7.18); PORCH_AUTOBAHN_DIR (where install-test-deps.sh put
autobahntestsuite, else ~/.cache/porch-autobahn); PORCH_AUTOBAHN_KEEP=1 keeps the temp dir
(Autobahn's HTML reports are in it).
"""

import argparse
import collections
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
EXPECTED = HERE / "expected-results.json"
AGENT = "Porch"
ECHO_PATH = "/api/v2/conformance/echo"
PYTHON27_VERSION = (2, 7, 18)
AUTOBAHN_VERSION = "25.10.1"
START_TIMEOUT_S = 30
# The whole suite takes about 20 s against a debug build here (docs/conformance.md); this is
# 20 times that, so a slow CI machine passes and a hung case cannot hold CI for long.
WSTEST_TIMEOUT_S = 420
STOP_TIMEOUT_S = 10
# What a case may say, whatever the expected file says: conformant, or, for the
# permessage-deflate categories only, not offered (docs/conformance.md says why). Anything else
# (FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT) fails the run.
ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL"}
DEFLATE_CATEGORIES = {"12", "13"}
CATEGORIES = {
    "1": "Framing", "2": "Ping/Pong", "3": "Reserved bits", "4": "Opcodes", "5": "Fragmentation",
    "6": "UTF-8", "7": "Close", "9": "Limits/performance", "10": "Miscellaneous",
    "12": "permessage-deflate, payloads", "13": "permessage-deflate, parameters",
}


def fail(message):
    print(f"autobahn: {message}", file=sys.stderr)
    sys.exit(1)


def case_key(case):
    return tuple(int(part) for part in case.split("."))


def porch_bin():
    if os.environ.get("PORCH_BIN"):
        return Path(os.environ["PORCH_BIN"])
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target") / "debug" / "porch"


def python27():
    """pyenv's 2.7.18, checked: Autobahn's wstest runs on nothing else."""
    path = os.environ.get("PORCH_PYTHON27") or os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python2.7")
    if not os.access(path, os.X_OK):
        fail(f"no Python 2.7 at {path}; install pyenv's 2.7.18 (`pyenv install 2.7.18`) or set PORCH_PYTHON27")
    out = subprocess.run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         capture_output=True, text=True, timeout=30)
    version = tuple(int(p) for p in out.stdout.strip().split(".")) if out.returncode == 0 else None
    if version != PYTHON27_VERSION:
        fail(f"{path} is Python {out.stdout.strip() or '?'} {out.stderr.strip()}; Autobahn's wstest needs 2.7.18")
    return path


def autobahn_dir():
    folder = Path(os.environ.get("PORCH_AUTOBAHN_DIR") or os.path.expanduser("~/.cache/porch-autobahn"))
    if not (folder / f"autobahntestsuite-{AUTOBAHN_VERSION}.dist-info").is_dir():
        fail(f"autobahntestsuite {AUTOBAHN_VERSION} is not installed in {folder}; run scripts/install-test-deps.sh")
    return folder


def clean_env():
    """Our environment minus PORCH_*: the caller's shell cannot change the porch under test."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PORCH_")}


class Porch:
    """`porch serve` in conformance mode on a free loopback port."""

    def __init__(self, binary, workdir):
        self.log_path = workdir / "porch.log"
        self.log = open(self.log_path, "w")
        env = clean_env()
        env["PORCH_LOG"] = "warn"
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--config", str(HERE / "porch.toml"), "--data-dir", str(workdir / "data"),
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
        )
        self.url = None
        found = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                m = re.search(r"listening on http://(127\.0\.0\.1:\d+)", line)
                if m and not found.is_set():
                    self.url = f"ws://{m.group(1)}{ECHO_PATH}"
                    found.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                fail(f"porch serve did not start ({self.why_down()}); its log:\n{self.log_tail()}")

    def why_down(self):
        code = self.proc.poll()
        return "timed out" if code is None else f"exited with {code}"

    def log_tail(self, lines=40):
        if not self.log.closed:
            self.log.flush()
        return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])

    def panicked(self):
        if not self.log.closed:
            self.log.flush()
        return "panicked" in self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.log.close()


def run_wstest(py27, workdir, url, cases):
    spec = json.loads((HERE / "fuzzingclient.json").read_text())
    spec["outdir"] = str(workdir / "reports")
    spec["servers"][0]["url"] = url
    spec["cases"] = cases
    spec_path = workdir / "fuzzingclient.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    env = dict(os.environ)
    env.setdefault("PORCH_AUTOBAHN_DIR", str(autobahn_dir()))
    log_path = workdir / "wstest.log"
    with open(log_path, "w") as log:
        try:
            done = subprocess.run([py27, str(HERE / "wstest27.py"), "-m", "fuzzingclient", "-s", str(spec_path)],
                                  cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=WSTEST_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            fail(f"wstest did not finish within {WSTEST_TIMEOUT_S} s; its log: {log_path}")
    if done.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-30:])
        fail(f"wstest exited with {done.returncode}:\n{tail}")
    index = workdir / "reports" / "index.json"
    if not index.is_file():
        fail(f"wstest wrote no {index}")
    return json.loads(index.read_text())[AGENT]


def acceptable(case, result):
    allowed = ACCEPTED | ({"UNIMPLEMENTED"} if case.split(".")[0] in DEFLATE_CATEGORIES else set())
    return result["behavior"] in allowed and result["behaviorClose"] in allowed


def normalize(results):
    """The parts of a result that must not change between runs, in case order."""
    keep = ("behavior", "behaviorClose", "remoteCloseCode")
    return collections.OrderedDict(
        (case, collections.OrderedDict((k, results[case][k]) for k in keep)) for case in sorted(results, key=case_key)
    )


def diff(expected, actual):
    lines = []
    for case in sorted(set(expected) | set(actual), key=case_key):
        want, got = expected.get(case), actual.get(case)
        if want is None:
            lines.append(f"  {case}: not in the expected file, got {dict(got)}")
        elif got is None:
            lines.append(f"  {case}: expected {dict(want)}, not run")
        elif want != got:
            changed = ", ".join(f"{k} {want.get(k)!r} -> {got.get(k)!r}" for k in want if want.get(k) != got.get(k))
            lines.append(f"  {case}: {changed}")
    return lines


def summary(actual):
    """Cases per category and outcome pair (behavior / behaviorClose), then totals."""
    totals = collections.Counter()
    per_category = collections.OrderedDict()
    for case, r in actual.items():
        counts = per_category.setdefault(case.split(".")[0], collections.Counter())
        counts[f"{r['behavior']} / {r['behaviorClose']}"] += 1
        totals["behavior " + r["behavior"]] += 1
        totals["behaviorClose " + r["behaviorClose"]] += 1
    print(f"\nautobahn: {len(actual)} cases (behavior / behaviorClose)")
    for category, counts in per_category.items():
        shown = ", ".join(f"{pair}: {n}" for pair, n in sorted(counts.items()))
        print(f"  {category:>2} {CATEGORIES.get(category, '?'):<31} {sum(counts.values()):>4}  {shown}")
    print("  totals: " + ", ".join(f"{key}: {totals[key]}" for key in sorted(totals)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="*", help="comma-separated case patterns, e.g. '1.*,9.1.6' (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite expected-results.json (all cases only)")
    args = parser.parse_args()
    patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
    if args.update and patterns != ["*"]:
        fail("--update needs the whole suite (no --cases)")
    # wstest never ends when no case matches, so check the patterns first.
    known = json.loads(EXPECTED.read_text())[AGENT] if EXPECTED.is_file() else {}
    if known and not any(fnmatch.fnmatchcase(c, p) for c in known for p in patterns):
        fail(f"no case matches --cases {args.cases!r} (cases look like 1.1.1, 9.*, 12.*)")
    binary = porch_bin()
    if not os.access(binary, os.X_OK):
        fail(f"no porch binary at {binary}; `cargo build --bin porch` or set PORCH_BIN")
    py27 = python27()
    autobahn_dir()

    workdir = Path(tempfile.mkdtemp(prefix="porch-autobahn-"))
    started = time.monotonic()
    porch = Porch(binary, workdir)
    print(f"autobahn: porch {binary} in conformance mode at {porch.url}; wstest on {py27}; work dir {workdir}")
    try:
        results = run_wstest(py27, workdir, porch.url, patterns)
        alive = porch.proc.poll() is None
    finally:
        porch.stop()
    elapsed = time.monotonic() - started
    if not alive or porch.panicked():
        fail(f"porch {'exited' if not alive else 'panicked'} during the run; its log:\n{porch.log_tail()}")

    actual = normalize(results)
    if not actual:
        fail(f"no case matched --cases {args.cases!r}")
    summary(actual)
    print(f"  took {elapsed:.0f} s")
    problems = []
    bad = [f"  {c}: {r['behavior']} / {r['behaviorClose']}" for c, r in actual.items() if not acceptable(c, r)]
    if bad:
        problems.append("cases with an outcome other than OK, NON-STRICT, INFORMATIONAL (or UNIMPLEMENTED in 12.*, 13.*):\n"
                        + "\n".join(bad))
    if args.update and not problems:
        EXPECTED.write_text(json.dumps({AGENT: actual}, indent=2) + "\n")
        print(f"autobahn: wrote {EXPECTED.relative_to(REPO_ROOT)}")
    elif not args.update:
        expected = json.loads(EXPECTED.read_text())[AGENT]
        selected = {c: r for c, r in expected.items() if any(fnmatch.fnmatchcase(c, p) for p in patterns)}
        differences = diff(selected, actual)
        if differences:
            problems.append(f"results differ from {EXPECTED.relative_to(REPO_ROOT)} (expected -> got):\n"
                            + "\n".join(differences))
    if problems:
        print("\nautobahn: FAIL\n" + "\n".join(problems) + f"\n(reports kept in {workdir / 'reports'})", file=sys.stderr)
        sys.exit(1)
    if os.environ.get("PORCH_AUTOBAHN_KEEP") == "1":
        print(f"autobahn: reports kept in {workdir / 'reports'}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print("autobahn: PASS")


if __name__ == "__main__":
    main()
