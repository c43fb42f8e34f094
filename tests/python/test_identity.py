"""docs/identity.md's Python signer (PyJWT), taken from the page as it is, against a real
porch: an HS256 key made by the CLI, a token for a logged-in visitor, the widget endpoint
opening that customer's session; an anonymous session upgraded with a second token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from porch_harness import REPO_ROOT, Porch


def doc_signer():
    """The ```python identity-signer block of docs/identity.md, run as is."""
    text = (REPO_ROOT / "docs" / "identity.md").read_text()
    blocks = [b.split("\n```")[0] for b in text.split("```python identity-signer\n")[1:]]
    assert len(blocks) == 1, "docs/identity.md has one Python signer"
    scope: dict = {}
    exec(compile(blocks[0], "docs/identity.md", "exec"), scope)  # noqa: S102 (our own doc)
    return scope["identity_token"]


@pytest.fixture(scope="module")
def porch() -> Iterator[Porch]:
    p = Porch()
    try:
        yield p.start()
    finally:
        p.stop()


def test_the_python_signer_opens_and_upgrades_the_customers_sessions(porch: Porch) -> None:
    identity_token = doc_signer()
    key = porch.cli("identity-keys", "add", "--deployment", porch.deployment["id"])
    assert key["alg"] == "HS256" and key["secret"], key
    user = {"id": "crm-42", "name": "Ann Lee", "email": "ann@example.com"}
    origin = porch.base_url
    widget = f"/api/v2/webmessaging/deployments/{porch.deployment['id']}/guests"

    token = identity_token(key["secret"], key["kid"], porch.deployment["id"], user)
    session = porch.expect(201, "POST", widget, json_body={"identityToken": token}, headers={"Origin": origin})
    assert session["guest"]["externalId"] == "crm-42"
    status, _, body = porch.api("POST", widget, json_body={"identityToken": token}, headers={"Origin": origin})
    assert (status, body["error"]) == (403, "identity_replayed"), body

    # An anonymous chat, then the visitor logs in: the same conversation, now the customer's.
    anonymous = porch.create_guest()
    token = identity_token(key["secret"], key["kid"], porch.deployment["id"], user)
    upgraded = porch.expect(200, "POST", "/api/v2/webmessaging/guests/identity",
                            bearer=anonymous["accessToken"], json_body={"identityToken": token})
    assert upgraded["conversationId"] == anonymous["conversationId"]
    listed = porch.expect(200, "GET", "/api/v2/webmessaging/guests/conversations", bearer=session["accessToken"])
    ids = [c["id"] for c in listed["conversations"]]
    assert sorted(ids) == sorted([session["conversationId"], anonymous["conversationId"]]), ids
