//! The REST bodies the SDK sends and reads (`rest`, `attachment`).

use super::{Decl, Shape, object, opt, req};

const WELCOME_FIELDS: &[super::Field] = &[
    req("greeting", "string | null").doc("The deployment's own words; `null` for none."),
    req("replyWithinMins", "number | null")
        .doc("How soon the team usually answers; `null` to say nothing."),
    req("offlineForm", "boolean")
        .doc("Ask a new visitor for an email and a message while nobody can answer."),
];

/// The REST bodies.
pub(super) const DECLS: &[Decl] = &[
    object(
        "ErrorBody",
        "The error body of every REST endpoint (RFC 6749 §5.2).",
        &[
            req("error", "ErrorCode"),
            req("error_description", "string").doc("Cause and fix, for people."),
            opt("error_ref", "string").doc("Correlation id, also in the server's log line."),
        ],
    ),
    object(
        "GuestSession",
        "A guest session: what `POST /api/v2/webmessaging/guests` (your backend) and the widget endpoint return.",
        &[
            req("guestId", "string"),
            req("conversationId", "string"),
            req("deploymentId", "string"),
            req("gatewayUrl", "string"),
            req("accessToken", "string"),
            req("tokenType", "string"),
            req("expiresIn", "number"),
            req("expiresAtMs", "number"),
            req("guest", "Guest"),
        ],
    ),
    object(
        "WidgetGuestRequest",
        "`POST /api/v2/webmessaging/deployments/{deploymentId}/guests` body.",
        &[
            opt("displayName", "string"),
            opt("email", "string"),
            opt("attributes", "Record<string, string>"),
            opt("context", "VisitorContext"),
            opt("identityToken", "string"),
        ],
    ),
    object(
        "VisitorContext",
        "Where a visitor was when its conversation started.",
        &[opt("pageUrl", "string"), opt("pageTitle", "string"), opt("userAgent", "string")],
    ),
    object(
        "IdentifyGuestRequest",
        "`POST /api/v2/webmessaging/guests/identity` body.",
        &[req("identityToken", "string")],
    ),
    object(
        "SendMessageRequest",
        "`POST …/messages` body, for guests and agents alike.",
        &[req("clientMessageId", "string"), req("text", "string"), opt("choice", "Choice")],
    ),
    object(
        "SendMessageResponse",
        "Answer to a send over REST.",
        &[req("message", "Message"), req("duplicate", "boolean")],
    ),
    object(
        "MessagePage",
        "A page of history, in ascending `seq` order.",
        &[req("messages", "Message[]"), req("hasMore", "boolean"), req("lastSeq", "number")],
    ),
    object(
        "ConversationPage",
        "A page of conversations, newest first.",
        &[req("conversations", "Conversation[]"), req("hasMore", "boolean")],
    ),
    object(
        "ConversationList",
        "`GET /api/v2/agent/conversations` answer.",
        &[req("conversations", "Conversation[]")],
    ),
    object(
        "GuestQueue",
        "`GET /api/v2/webmessaging/guests/queue` answer.",
        &[req("queue", "QueuePosition | null")],
    ),
    object(
        "AgentLoginRequest",
        "`POST /api/v2/agents/login` body.",
        &[req("name", "string"), req("secret", "string")],
    ),
    object(
        "AgentSession",
        "What `POST /api/v2/agents/login` returns.",
        &[
            req("agentId", "string"),
            req("name", "string"),
            req("accessToken", "string"),
            req("tokenType", "string"),
            req("expiresIn", "number"),
            req("expiresAtMs", "number"),
            req("gatewayUrl", "string"),
            req("queues", "string[]"),
            super::flag("supervisor")
                .doc("A supervisor sees every queue's conversations (docs/routing.md)."),
        ],
    ),
    object(
        "TransferRequest",
        "`POST /api/v2/agent/conversations/{id}/transfer` body: exactly one of `agentId` and `queue`.",
        &[opt("agentId", "string"), opt("queue", "string"), opt("note", "string")],
    ),
    object(
        "CloseRequest",
        "`POST /api/v2/agent/conversations/{id}/close` body.",
        &[opt("wrapUp", "string")],
    ),
    object("AgentStatusRequest", "`PUT /api/v2/agent/status` body.", &[req("status", "string")]),
    object(
        "AgentStatusResponse",
        "`GET` and `PUT /api/v2/agent/status`: the agent's status, capacity and load as stored.",
        &[
            req("agentId", "string"),
            req("status", "AgentStatus"),
            req("capacity", "number").doc("How many conversations the agent may hold at once."),
            req("load", "number").doc("How many it holds now."),
        ],
    ),
    object(
        "AgentOverview",
        "One agent as a supervisor sees it: an entry of the overview's `agents` (`GET \
         /api/v2/agent/supervisor/overview`), and the `agent` frame.",
        &[
            req("id", "string"),
            req("name", "string"),
            req("status", "AgentStatus"),
            req("capacity", "number").doc("As routing resolves it now."),
            req("load", "number").doc("Conversations it holds now."),
            req("queues", "string[]"),
            req("supervisor", "boolean"),
        ],
    ),
    object(
        "CannedReply",
        "A canned reply of a deployment: `text`, inserted after `/shortcut`.",
        &[req("shortcut", "string"), req("text", "string")],
    ),
    object(
        "CannedReplyList",
        "`GET /api/v2/agent/conversations/{id}/canned-replies` answer.",
        &[req("replies", "CannedReply[]")],
    ),
    object(
        "NoticeState",
        "Answer of every notice endpoint: the current notice, `null` when there is none.",
        &[req("notice", "Notice | null")],
    ),
    object(
        "Welcome",
        "What the standard widget greets a new visitor with, set per deployment by its operator.",
        WELCOME_FIELDS,
    ),
    Decl {
        name: "WidgetConfig",
        doc: "`GET /api/v2/webmessaging/deployments/{deploymentId}/widget`: what the widget shows before any session.",
        shape: Shape::Object {
            fields: &[
                req("notice", "Notice | null"),
                req("agentsAvailable", "boolean")
                    .doc("Someone can answer the deployment's queue now."),
                req("attachments", "AttachmentLimits"),
            ],
            flatten: &["Welcome"],
        },
    },
];
