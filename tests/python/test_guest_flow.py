"""The user's guest flow with Python's third-party `websockets` client against a real porch:
client token -> guest -> socket with ['NICE-WebSocket-Auth', accessToken] -> chat with an
agent; and the mistake of the user report (the OAuth client token at the gateway) -> 4004."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from porch_harness import Porch

MARKER = "NICE-WebSocket-Auth"
WAIT_S = 5


@pytest.fixture(scope="module")
def porch() -> Iterator[Porch]:
    p = Porch()
    try:
        yield p.start()
    finally:
        p.stop()


async def wait_frame(ws, seen: list[dict], pred: Callable[[dict], bool], what: str) -> dict:
    """Reads frames until one matches; fails after WAIT_S with every frame seen."""
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = json.loads(await ws.recv())
                seen.append(frame)
                if pred(frame):
                    return frame
    except (TimeoutError, ConnectionClosed) as e:
        lines = "\n".join(f"  {json.dumps(f)[:300]}" for f in seen) or "  (none)"
        pytest.fail(f"no {what} ({type(e).__name__}: {e}); frames seen:\n{lines}")


def test_user_flow_guest_and_agent(porch: Porch) -> None:
    async def flow() -> None:
        agent = porch.agent_login()
        guest = porch.create_guest("Grace")
        async with websockets.connect(agent["gatewayUrl"], subprotocols=[MARKER, agent["accessToken"]],
                                      open_timeout=WAIT_S) as agent_ws, \
                websockets.connect(guest["gatewayUrl"], subprotocols=[MARKER, guest["accessToken"]],
                                   open_timeout=WAIT_S) as guest_ws:
            assert guest_ws.subprotocol == MARKER, "the server echoes exactly the marker"
            agent_seen: list[dict] = []
            guest_seen: list[dict] = []
            await wait_frame(agent_ws, agent_seen, lambda f: f["type"] == "ready", "agent ready")
            ready = await wait_frame(guest_ws, guest_seen, lambda f: f["type"] == "ready", "guest ready")
            assert guest_seen[0]["type"] == "ready", "ready is the first frame"
            assert ready["conversation"]["id"] == guest["conversationId"]

            await guest_ws.send(json.dumps({"type": "send", "clientMessageId": "c1", "text": "hi"}))
            ack = await wait_frame(guest_ws, guest_seen,
                                   lambda f: f["type"] == "ack" and f["clientMessageId"] == "c1", "ack for c1")
            assert ack["duplicate"] is False
            assert ack["message"]["seq"] == ready["lastSeq"] + 1

            heard = await wait_frame(
                agent_ws, agent_seen,
                lambda f: f["type"] == "message" and f["message"]["conversationId"] == guest["conversationId"]
                and f["message"]["text"] == "hi",
                "the guest's message at the agent")
            assert heard["message"]["sender"]["role"] == "guest"

            await agent_ws.send(json.dumps({"type": "send", "conversationId": guest["conversationId"],
                                            "clientMessageId": "a1", "text": "hello"}))
            reply = await wait_frame(
                guest_ws, guest_seen,
                lambda f: f["type"] == "message" and f["message"].get("clientMessageId") == "a1",
                "the agent's reply at the guest")
            assert reply["message"]["sender"]["role"] == "agent"
            assert reply["message"]["text"] == "hello"
            seqs = [f["message"]["seq"] for f in guest_seen if f["type"] == "message"]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"consecutive seqs, got {seqs}"

    asyncio.run(flow())


def test_client_token_at_gateway_closes_4004(porch: Porch) -> None:
    async def flow() -> None:
        token = porch.client_token()
        async with websockets.connect(porch.gateway_url, subprotocols=[MARKER, token],
                                      open_timeout=WAIT_S) as ws:
            # The refusal comes after the 101, as a close frame a client can read.
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(WAIT_S):
                    frame = await ws.recv()
                    pytest.fail(f"expected a close, got a frame: {frame}")
        rcvd = closed.value.rcvd
        assert rcvd is not None, f"no close frame received: {closed.value}"
        assert rcvd.code == 4004, f"close {rcvd.code} {rcvd.reason!r}"
        assert rcvd.reason.startswith("token_wrong_kind: "), rcvd.reason
        assert "client token" in rcvd.reason and "accessToken" in rcvd.reason, rcvd.reason

    asyncio.run(flow())
