"""Standard Webhooks out of a real porch (docs/webhooks.md), checked by the `standardwebhooks`
library from PyPI: through the reference receiver (examples/webhook-receiver), and by hand on
captured deliveries (tampered body, old timestamp, rotated-out secret)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from standardwebhooks import webhooks as library

from porch_harness import PORCH_BIN, REPO_ROOT, Porch, _env, _free_port

RECEIVER = REPO_ROOT / "examples" / "webhook-receiver" / "receiver.py"
POLICY = ["--webhook-allow-http", "--webhook-allow-private-targets"]
# Fast retries and short leases, so a test sees recoveries and dead letters in seconds.
FAST = [*POLICY, "--webhook-poll-interval-ms", "50", "--webhook-retry-base-ms", "100",
        "--webhook-retry-max-ms", "400", "--webhook-timeout-ms", "1000", "--webhook-lease-ms", "2000"]
WAIT_S = 15


def cli(porch: Porch, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [PORCH_BIN, *args, "--data-dir", porch.data_dir, *porch.store_args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=_env())
    if ok and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done


def add_endpoint(porch: Porch, port: int, *events: str) -> dict:
    args = ["webhooks", "add", "--deployment", porch.deployment["id"],
            "--url", f"http://127.0.0.1:{port}/hooks", *POLICY, "--json"]
    for event in events:
        args += ["--event", event]
    return json.loads(cli(porch, *args).stdout)


def wait_until(what: str, check, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {check()!r}")


class Receiver:
    """The reference receiver, as a process."""

    def __init__(self, secret: str, port: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--secret", secret, "--out", str(out), "--port", str(port)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout and "listening on" in self.proc.stdout.readline()

    def events(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


class Capture:
    """A receiver that keeps every request as sent and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                capture.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(capture.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"no")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def porch() -> Iterator[Porch]:
    p = Porch()
    try:
        yield p.start(*FAST)
    finally:
        p.stop()


def guest_says(porch: Porch, guest: dict, *texts: str) -> None:
    for i, text in enumerate(texts):
        porch.expect(201, "POST", "/api/v2/webmessaging/guests/messages", bearer=guest["accessToken"],
                     json_body={"clientMessageId": f"c{i}-{time.monotonic_ns()}", "text": text})


def in_order(events: list[dict], conversation_id: str) -> list[tuple[str, int]]:
    """(type, seq) of one conversation's events, as received."""
    mine = [e["event"] for e in events if e["event"]["data"]["conversationId"] == conversation_id]
    return [(e["type"], (e["data"].get("message") or {}).get("seq", 0)) for e in mine]


def test_every_event_verifies_and_arrives_in_order(porch: Porch, tmp_path: Path) -> None:
    port = _free_port()
    endpoint = add_endpoint(porch, port)
    receiver = Receiver(endpoint["secret"], port, tmp_path / "events.jsonl")
    try:
        guest = porch.create_guest()
        guest_says(porch, guest, "one", "two")
        agent = porch.agent_login()
        conversation = guest["conversationId"]
        porch.expect(200, "POST", f"/api/v2/agent/conversations/{conversation}/assign",
                     bearer=agent["accessToken"])
        porch.expect(200, "POST", f"/api/v2/agent/conversations/{conversation}/close",
                     bearer=agent["accessToken"])
        expected = [("conversation.created", 0), ("message.created", 1), ("message.created", 2),
                    ("conversation.assigned", 3), ("conversation.closed", 4)]
        wait_until("five events", lambda: len(receiver.events()) >= 5)
        events = receiver.events()
        assert in_order(events, conversation) == expected
        assert len({e["id"] for e in events}) == 5, "one webhook-id per event"
        created, first, _, assigned, _ = (e["event"] for e in events)
        assert created["data"]["guest"]["displayName"] == "Py Guest"
        assert created["data"]["deploymentId"] == porch.deployment["id"]
        assert first["data"]["message"]["text"] == "one"
        assert assigned["data"]["agentId"] == porch.agent["id"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["timestamp"])
    finally:
        receiver.stop()


def test_transfers_and_identifications_are_events_of_their_own(porch: Porch, tmp_path: Path) -> None:
    from test_identity import doc_signer

    port = _free_port()
    endpoint = add_endpoint(porch, port, "conversation.transferred", "guest.identified")
    receiver = Receiver(endpoint["secret"], port, tmp_path / "events.jsonl")
    try:
        # Grace takes the conversation and hands it to Alan with a note, who hands it to a queue.
        guest = porch.create_guest()
        conversation = guest["conversationId"]
        grace = porch.agent_login()["accessToken"]
        alan = porch.cli("agents", "create", "--name", "py-alan", "--queue", "default", "--queue", "billing")
        alan_token = porch.expect(200, "POST", "/api/v2/agents/login",
                                  json_body={"name": "py-alan", "secret": alan["secret"]})["accessToken"]
        porch.expect(200, "PUT", "/api/v2/agent/status", bearer=alan_token, json_body={"status": "available"})
        base = f"/api/v2/agent/conversations/{conversation}"
        porch.expect(200, "POST", f"{base}/assign", bearer=grace)
        porch.expect(200, "POST", f"{base}/transfer", bearer=grace,
                     json_body={"agentId": alan["id"], "note": "wants a refund, angry"})
        porch.expect(200, "POST", f"{base}/transfer", bearer=alan_token,
                     json_body={"queue": "billing", "note": "refunds are billing's"})

        # An anonymous guest signs in: the customer's externalId, never the token.
        key = porch.cli("identity-keys", "add", "--deployment", porch.deployment["id"])
        anonymous = porch.create_guest()
        token = doc_signer()(key["secret"], key["kid"], porch.deployment["id"],
                             {"id": "crm-42", "name": "Ann Lee", "email": "ann@example.com"})
        porch.expect(200, "POST", "/api/v2/webmessaging/guests/identity",
                     bearer=anonymous["accessToken"], json_body={"identityToken": token})

        wait_until("three events", lambda: len(receiver.events()) >= 3)
        events = receiver.events()
        assert in_order(events, conversation) == [("conversation.transferred", 2), ("conversation.transferred", 3)]
        assert in_order(events, anonymous["conversationId"]) == [("guest.identified", 1)]
        by_seq = {(e["event"]["data"]["conversationId"], e["event"]["data"]["message"]["seq"]): e["event"]["data"]
                  for e in events}
        to_alan, to_billing = by_seq[(conversation, 2)], by_seq[(conversation, 3)]
        identified = by_seq[(anonymous["conversationId"], 1)]
        assert to_alan["agentId"] == alan["id"]
        assert "agentId" not in to_billing and to_billing["queue"] == "billing"
        raw = (tmp_path / "events.jsonl").read_text()
        assert "refund" not in raw, "a transfer's note is for agents only"
        assert "note" not in to_alan["message"] and "note" not in to_billing["message"]
        assert identified["conversationId"] == anonymous["conversationId"]
        assert identified["guest"]["externalId"] == "crm-42"
        assert identified["guest"]["verifiedBy"] == "identityToken"
        assert token not in raw and key["secret"] not in raw, "no identity token, no key"
    finally:
        receiver.stop()


def test_a_receiver_down_for_a_while_gets_every_event_in_order(tmp_path: Path, store_args: list[str]) -> None:
    porch = Porch(*store_args)
    port = _free_port()
    try:
        porch.start(*FAST)
        endpoint = add_endpoint(porch, port)
        guest = porch.create_guest()
        guest_says(porch, guest, *(f"m{i}" for i in range(1, 6)))
        time.sleep(1.5)  # several failed attempts each
        receiver = Receiver(endpoint["secret"], port, tmp_path / "events.jsonl")
    except BaseException:
        porch.stop()
        raise
    try:
        wait_until("six events", lambda: len(receiver.events()) >= 6)
        assert in_order(receiver.events(), guest["conversationId"]) == [
            ("conversation.created", 0), *((("message.created", i)) for i in range(1, 6))]
    finally:
        receiver.stop()
        porch.stop()


def test_signatures_verify_and_forgeries_do_not(porch: Porch) -> None:
    capture = Capture()
    try:
        endpoint = add_endpoint(porch, capture.port, "conversation.created")
        old_secret = endpoint["secret"]
        porch.create_guest()
        headers, body = wait_until("a delivery", lambda: capture.requests and capture.requests[0])
        assert set(headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
        assert headers["content-type"] == "application/json"
        event = Webhook(old_secret).verify(body, headers)
        assert event["type"] == "conversation.created"
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(body.replace(b"Py Guest", b"Py Guesz"), headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
        # The same delivery, replayed six minutes later: outside the library's tolerance.
        later = datetime.now(tz=timezone.utc) + timedelta(minutes=6)
        with mock.patch.object(library, "datetime", wraps=datetime) as clock:
            clock.now.return_value = later
            with pytest.raises(WebhookVerificationError, match="too old"):
                Webhook(old_secret).verify(body, headers)

        # A rotation: old and new sign together while the overlap lasts...
        rotated = cli(porch, "webhooks", "rotate-secret", endpoint["id"], "--webhook-secret-overlap-ms", "600000")
        new_secret = re.search(r"new secret (whsec_\S+)", rotated.stdout).group(1)
        porch.create_guest()
        headers, body = wait_until("a second delivery", lambda: len(capture.requests) > 1 and capture.requests[1])
        assert len(headers["webhook-signature"].split(" ")) == 2
        Webhook(old_secret).verify(body, headers)
        Webhook(new_secret).verify(body, headers)
        # ...and once it is over (a rotation with no overlap), the old secret no longer verifies.
        rotated = cli(porch, "webhooks", "rotate-secret", endpoint["id"], "--webhook-secret-overlap-ms", "0")
        newest = re.search(r"new secret (whsec_\S+)", rotated.stdout).group(1)
        porch.create_guest()
        headers, body = wait_until("a third delivery", lambda: len(capture.requests) > 2 and capture.requests[2])
        assert len(headers["webhook-signature"].split(" ")) == 1
        Webhook(newest).verify(body, headers)
        for rotated_out in (old_secret, new_secret):
            with pytest.raises(WebhookVerificationError):
                Webhook(rotated_out).verify(body, headers)
    finally:
        capture.stop()


def backend_token(porch: Porch) -> str:
    """A token of a client with scope `webhooks`: the customer's backend managing endpoints."""
    crm = porch.cli("clients", "create", "--name", f"crm-{time.monotonic_ns()}", "--scope", "webhooks")
    body = porch.expect(200, "POST", "/api/v2/oauth/token", basic=(crm["id"], crm["secret"]),
                        form={"grant_type": "client_credentials", "scope": "webhooks"})
    return body["access_token"]


def test_a_rotation_over_the_api_verifies_the_old_secret_only_during_the_overlap(porch: Porch) -> None:
    capture = Capture()
    try:
        token = backend_token(porch)
        endpoints = f"/api/v2/webmessaging/deployments/{porch.deployment['id']}/webhooks"
        endpoint = porch.expect(201, "POST", endpoints, bearer=token, json_body={
            "url": f"http://127.0.0.1:{capture.port}/hooks", "eventTypes": ["conversation.created"]})
        old_secret = endpoint["secret"]
        overlap_ms = 5000
        rotated = porch.expect(200, "POST", f"{endpoints}/{endpoint['id']}/secret", bearer=token,
                               json_body={"overlapMs": overlap_ms})
        new_secret, until_ms = rotated["secret"], rotated["previousSecretUntilMs"]
        assert new_secret != old_secret and until_ms <= time.time() * 1000 + overlap_ms

        # During the overlap: a receiver that only has the old secret verifies...
        porch.create_guest()
        headers, body = wait_until("a delivery", lambda: capture.requests and capture.requests[0])
        assert int(headers["webhook-timestamp"]) * 1000 < until_ms, "attempted within the overlap"
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert Webhook(old_secret).verify(body, headers)["type"] == "conversation.created"
        Webhook(new_secret).verify(body, headers)
        # ...and after it, it does not; the new secret does.
        time.sleep(max(0.0, until_ms / 1000 - time.time()) + 0.1)
        porch.create_guest()
        headers, body = wait_until("a second delivery", lambda: len(capture.requests) > 1 and capture.requests[1])
        assert len(headers["webhook-signature"].split(" ")) == 1
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(body, headers)
        Webhook(new_secret).verify(body, headers)
    finally:
        capture.stop()


def test_dead_letters_over_the_api_and_their_replay() -> None:
    p = Porch()
    capture = Capture()
    capture.status = 503
    try:
        p.start(*FAST, "--webhook-retry-horizon-ms", "1000")
        token = backend_token(p)
        endpoints = f"/api/v2/webmessaging/deployments/{p.deployment['id']}/webhooks"
        endpoint = p.expect(201, "POST", endpoints, bearer=token, json_body={
            "url": f"http://127.0.0.1:{capture.port}/hooks", "eventTypes": ["conversation.created"]})
        secret, dead_path = endpoint["secret"], f"{endpoints}/{endpoint['id']}/dead"
        p.create_guest()

        def dead() -> list[dict]:
            return p.expect(200, "GET", dead_path, bearer=token)["deliveries"]

        [letter] = wait_until("a dead letter", dead)
        assert letter["type"] == "conversation.created" and "HTTP 503" in letter["lastError"], letter
        attempts = len(capture.requests)
        capture.status = 204
        assert p.expect(200, "POST", f"{dead_path}/replay", bearer=token) == {"replayed": 1}
        wait_until("the replayed delivery", lambda: len(capture.requests) > attempts)
        headers, body = capture.requests[-1]
        assert headers["webhook-id"] == letter["webhookId"]
        assert Webhook(secret).verify(body, headers)["type"] == "conversation.created"
        wait_until("an empty dead-letter list", lambda: not dead())
    finally:
        capture.stop()
        p.stop()


def test_a_receiver_that_never_recovers_ends_in_the_dead_letters_and_replay_delivers() -> None:
    p = Porch()
    capture = Capture()
    capture.status = 503
    try:
        p.start(*FAST, "--webhook-retry-horizon-ms", "1000")
        endpoint = add_endpoint(p, capture.port, "conversation.created")
        p.create_guest()

        def dead() -> list[dict]:
            return json.loads(cli(p, "webhooks", "dead", endpoint["id"], "--json").stdout)

        [letter] = wait_until("a dead letter", dead)
        assert letter["type"] == "conversation.created" and letter["attempts"] >= 2
        assert "HTTP 503" in letter["lastError"], letter
        attempts = len(capture.requests)
        assert len({h["webhook-id"] for h, _ in capture.requests}) == 1, "one webhook-id for every retry"
        time.sleep(0.5)
        assert len(capture.requests) == attempts, "a dead letter is not attempted again"
        capture.status = 204
        assert "1 dead deliveries are pending again" in cli(p, "webhooks", "replay", endpoint["id"]).stdout
        wait_until("the replayed delivery", lambda: len(capture.requests) > attempts)
        assert capture.requests[-1][0]["webhook-id"] == letter["webhookId"]
        wait_until("an empty dead-letter list", lambda: not dead())
    finally:
        capture.stop()
        p.stop()


POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgres"])
def store_args(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """The embedded store, or a fresh schema of the machine's PostgreSQL (dropped after)."""
    if request.param == "sqlite":
        yield []
        return
    schema = f"porch_py_{time.monotonic_ns()}"
    subprocess.run(["psql", POSTGRES, "-qc", f"CREATE SCHEMA {schema}"], check=True)
    try:
        yield ["--store", f"{POSTGRES}?options=-csearch_path%3D{schema}"]
    finally:
        subprocess.run(["psql", POSTGRES, "-qc", f"DROP SCHEMA {schema} CASCADE"], check=False)


def test_a_sigkill_between_commit_and_delivery_loses_nothing(tmp_path: Path, store_args: list[str]) -> None:
    p = Porch(*store_args)
    port = _free_port()
    try:
        p.start(*FAST)
        endpoint = add_endpoint(p, port)
        guest = p.create_guest()
        guest_says(p, guest, "before", "the", "kill")
        assert p.proc is not None
        p.proc.kill()  # SIGKILL: the events are committed, none delivered (no receiver yet)
        p.proc.wait(timeout=5)
        receiver = Receiver(endpoint["secret"], port, tmp_path / "events.jsonl")
        try:
            p.start(*FAST)
            wait_until("four events", lambda: len(receiver.events()) >= 4)
            assert in_order(receiver.events(), guest["conversationId"]) == [
                ("conversation.created", 0), ("message.created", 1), ("message.created", 2),
                ("message.created", 3)]
        finally:
            receiver.stop()
    finally:
        p.stop()


def test_webhooks_test_reports_the_answer_or_the_cause(porch: Porch) -> None:
    capture = Capture()
    try:
        endpoint = add_endpoint(porch, capture.port)
        ok = cli(porch, "webhooks", "test", endpoint["id"], *POLICY)
        assert "delivered: HTTP 204" in ok.stdout, ok.stdout
        headers, body = capture.requests[-1]
        assert Webhook(endpoint["secret"]).verify(body, headers)["type"] == "message.created"
        assert headers["webhook-id"].startswith("evt_test_")
        capture.status = 401
        refused = cli(porch, "webhooks", "test", endpoint["id"], *POLICY, ok=False)
        assert refused.returncode != 0
        assert "HTTP 401" in refused.stderr and "current secret" in refused.stderr, refused.stderr
        capture.stop()
        down = cli(porch, "webhooks", "test", endpoint["id"], *POLICY, ok=False)
        assert "cannot connect" in down.stderr, down.stderr
        private = cli(porch, "webhooks", "test", endpoint["id"], "--webhook-allow-http", ok=False)
        assert "loopback" in private.stderr and "webhook_allow_private_targets" in private.stderr
    finally:
        capture.stop()


def test_targets_are_https_and_public_unless_the_operator_allows_more(porch: Porch) -> None:
    base = ["webhooks", "add", "--deployment", porch.deployment["id"]]
    plain = cli(porch, *base, "--url", "http://127.0.0.1:9/hooks", ok=False)
    assert plain.returncode != 0 and "webhook_allow_http" in plain.stderr, plain.stderr
    private = cli(porch, *base, "--url", "http://127.0.0.1:9/hooks", "--webhook-allow-http", ok=False)
    assert "loopback" in private.stderr, private.stderr
    named = cli(porch, *base, "--url", "https://localhost:9/hooks", ok=False)
    assert "loopback" in named.stderr, named.stderr
    metadata = cli(porch, *base, "--url", "https://169.254.169.254/latest", ok=False)
    assert "link-local" in metadata.stderr, metadata.stderr
    unknown = cli(porch, *base, "--url", "https://example.com/x", "--event", "message.sent", ok=False)
    assert "message.sent" in unknown.stderr and "message.created" in unknown.stderr
