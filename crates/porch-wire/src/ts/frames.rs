//! The WebSocket frames and the types they carry (`frame`, and the bodies, bot content and
//! attachments inside them).

use super::{Decl, Field, Shape, Variant, flag, object, opt, req, strings, variant};

const CONV: Field = opt("conversationId", "string");
const CMID: Field = req("clientMessageId", "string");

/// `frame::ClientFrame`.
const CLIENT_FRAME: &[Variant] = &[
    variant(
        "send",
        "Post a message; answered by `ack` or `error`.",
        &[CMID, req("text", "string"), CONV],
    ),
    variant(
        "choose",
        "Guests: pick a quick reply of a bot's message.",
        &[CMID, req("text", "string"), req("choice", "Choice")],
    ),
    variant("typing", "\"I am typing.\"", &[CONV]),
    variant("read", "\"I have read up to `seq`.\"", &[req("seq", "number"), CONV]),
    variant("status", "Agents: `available` or `away`.", &[req("status", "string")]),
    variant("accept", "Agents: take the conversation offered.", &[req("conversationId", "string")]),
    variant("decline", "Agents: pass the offer on.", &[req("conversationId", "string")]),
    variant(
        "transfer",
        "Agents: to another agent (`agentId`) or queue (`queue`), with an internal `note`.",
        &[
            req("conversationId", "string"),
            opt("agentId", "string"),
            opt("queue", "string"),
            opt("note", "string"),
        ],
    ),
    variant("unassign", "Agents: back to its queue.", &[req("conversationId", "string")]),
    variant(
        "close",
        "Agents: close, with a wrap-up code.",
        &[req("conversationId", "string"), opt("wrapUp", "string")],
    ),
    variant("refresh", "A fresh access token for this connection.", &[req("token", "string")]),
    variant("ping", "Answered by `pong`.", &[opt("id", "string")]),
];

/// `frame::ServerFrame`.
const SERVER_FRAME: &[Variant] = &[
    Variant {
        tag: "ready",
        doc: "First frame of every connection.",
        fields: &[],
        newtype: Some("Ready"),
    },
    variant("message", "A new entry in a conversation's log.", &[req("message", "Message")]),
    variant(
        "ack",
        "A `send` of this connection was durably stored.",
        &[CMID, req("message", "Message"), req("duplicate", "boolean")],
    ),
    variant(
        "typing",
        "Someone is typing.",
        &[req("conversationId", "string"), req("participant", "Participant")],
    ),
    variant(
        "read",
        "Someone read up to `seq`.",
        &[req("conversationId", "string"), req("participant", "Participant"), req("seq", "number")],
    ),
    variant(
        "conversation",
        "A conversation changed state or appeared.",
        &[req("conversation", "Conversation")],
    ),
    variant(
        "error",
        "A request of this connection failed; the connection stays open.",
        &[
            req("code", "ErrorCode"),
            req("message", "string"),
            opt("clientMessageId", "string"),
            opt("retryAfterMs", "number").doc("Wait this long, then send the same frame again."),
        ],
    ),
    variant(
        "notice",
        "Guests: the deployment's notice was set or cleared.",
        &[req("notice", "Notice | null")],
    ),
    variant(
        "queue",
        "Guests: where the waiting guest stands in its queue.",
        &[
            req("conversationId", "string"),
            req("position", "number"),
            opt("estimatedWaitMs", "number"),
        ],
    ),
    variant("status", "Agents: the agent's status as stored.", &[req("status", "AgentStatus")]),
    variant(
        "agent",
        "Supervisors only: an agent's status, capacity, queues or load changed, as stored now \
         (docs/routing.md, Supervisors). Not ordered, not replayed: re-read the overview after \
         each `ready`.",
        &[req("agent", "AgentOverview")],
    ),
    variant(
        "offer",
        "Agents: a waiting conversation offered until `expiresAtMs` (Unix ms).",
        &[req("conversation", "Conversation"), req("expiresAtMs", "number")],
    ),
    variant(
        "offerEnded",
        "Agents: an offer ended, and why.",
        &[req("conversationId", "string"), req("reason", "OfferEndReason")],
    ),
    variant("refreshed", "Answer to a `refresh`.", &[req("tokenExpiresInMs", "number")]),
    variant("pong", "Answer to a `ping`.", &[opt("id", "string")]),
];

/// The frames and the types inside them.
pub(super) const DECLS: &[Decl] = &[
    Decl {
        name: "ClientFrame",
        doc: "A frame from a client to the gateway (docs/protocol.md).",
        shape: Shape::Tagged(CLIENT_FRAME),
    },
    Decl {
        name: "ServerFrame",
        doc: "A frame from the gateway to a client (docs/protocol.md).",
        shape: Shape::Tagged(SERVER_FRAME),
    },
    strings("OfferEndReason", "Why an agent's offer ended.", &["accepted", "declined", "expired"]),
    object(
        "Ready",
        "The body of the `ready` frame.",
        &[
            req("sessionId", "string"),
            req("role", "Role"),
            req("participant", "Participant"),
            opt("conversation", "Conversation").doc("Guests: their conversation."),
            opt("conversations", "Conversation[]")
                .doc("Agents: the open conversations of their queues."),
            flag("moreConversations")
                .doc("Agents: `conversations` is not all of them; list the rest over REST."),
            opt("lastSeq", "number").doc("Guests: the conversation's latest `seq`."),
            opt("notice", "Notice"),
            opt("queue", "QueuePosition"),
            opt("resume", "Resume").doc("What happened to an `afterSeq` resume request."),
            req("heartbeatIntervalMs", "number"),
            req("tokenExpiresInMs", "number"),
            req("limits", "ConnectionLimits"),
        ],
    ),
    object(
        "Resume",
        "The outcome of a resume request (`afterSeq` in the gateway URL).",
        &[
            req("recovered", "boolean"),
            req("afterSeq", "number"),
            req("replayed", "number"),
            opt("reason", "string"),
        ],
    ),
    object(
        "ConnectionLimits",
        "The limits `ready` announces.",
        &[
            req("messageBytesMax", "number"),
            req("textCharsMax", "number"),
            req("attachments", "AttachmentLimits"),
        ],
    ),
    strings("Role", "Who sent a message.", &["guest", "agent", "system", "bot"]),
    object(
        "Participant",
        "The author of a message or a typing/read event.",
        &[req("role", "Role"), req("id", "string"), opt("displayName", "string")],
    ),
    object(
        "Message",
        "One entry of a conversation's log.",
        &[
            req("id", "string"),
            req("conversationId", "string"),
            req("seq", "number").doc("Position in the conversation's log: from 1, no gaps."),
            opt("clientMessageId", "string"),
            req("sender", "Participant"),
            req("text", "string"),
            opt("event", "ConversationState")
                .doc("Set on system entries: the state change they record."),
            opt("content", "Content")
                .doc("A bot's quick replies and cards, or a guest's pick (docs/bots.md)."),
            opt("note", "string")
                .doc("Agents only: a transfer's internal note (never sent to guests)."),
            opt("wrapUp", "string")
                .doc("Agents only: a close's wrap-up code (never sent to guests)."),
            req("createdAtMs", "number"),
            opt("attachment", "Attachment")
                .doc("Set on attachment messages (whose `text` is the file's name)."),
            flag("erased").doc("A tombstone: an erased customer's entry (docs/identity.md)."),
            flag("reopened").doc("The system entry of a reopen (docs/routing.md)."),
            flag("fallback")
                .doc("The system entry of a queue's unanswered fallback (docs/routing.md)."),
        ],
    ),
    strings(
        "ConversationState",
        "Where a conversation stands.",
        &["waiting", "assigned", "closed"],
    ),
    object(
        "Conversation",
        "A conversation as agents (and, in `ready`, guests) see it.",
        &[
            req("id", "string"),
            req("deploymentId", "string"),
            req("queue", "string"),
            req("state", "ConversationState"),
            req("guest", "Guest"),
            opt("assignedAgentId", "string"),
            req("lastSeq", "number"),
            req("createdAtMs", "number"),
            req("updatedAtMs", "number"),
            opt("reopenUntilMs", "number").doc(
                "A closed conversation its guest may still reopen by writing: until when (epoch ms, \
                 the server's clock). Absent when it is not closed, or reopening is off \
                 (docs/routing.md, Reopen).",
            ),
            opt("lastMessage", "LastMessage").doc(
                "Agents only: the preview of the latest entry, for lists (api.md, \"Last \
                 message\"). Absent before the first entry and in what guests get.",
            ),
            opt("agent", "AgentCard")
                .doc("Guests only: the agent who holds the conversation (state `assigned`)."),
        ],
    ),
    Decl {
        name: "LastMessage",
        doc: "The preview of a conversation's latest entry (api.md, \"Last message\").",
        shape: Shape::Object {
            fields: &[req("seq", "number"), req("createdAtMs", "number")],
            flatten: &["Preview"],
        },
    },
    object(
        "Preview",
        "What a list shows of an entry: who wrote it, its kind, its text on one line.",
        &[
            req("senderRole", "Role"),
            req("senderId", "string").doc("The sender's id, as in the entry's `sender`."),
            req("kind", "PreviewKind"),
            req("text", "string").doc(
                "One line, at most `LIMITS.lastMessagePreviewCharsMax` characters; empty for \
                 an attachment.",
            ),
            flag("truncated").doc("`text` was cut: show an ellipsis."),
        ],
    ),
    strings(
        "PreviewKind",
        "`attachment`: a file (its name is not shown); `system`: Porch's own entry.",
        &["text", "attachment", "system"],
    ),
    object(
        "AgentCard",
        "The agent who holds a guest's conversation, as the guest sees them (protocol.md).",
        &[
            req("name", "string").doc("The display name an operator set, else the login name."),
            opt("avatarUrl", "string").doc("An https URL of the agent's picture."),
        ],
    ),
    object(
        "Guest",
        "What is known about a guest.",
        &[
            req("id", "string"),
            opt("displayName", "string"),
            opt("email", "string"),
            opt("externalId", "string"),
            opt("attributes", "Record<string, string>"),
            req("createdAtMs", "number"),
            opt("verifiedBy", "Verification")
                .doc("How `externalId` was vouched for; absent for an anonymous guest."),
        ],
    ),
    strings(
        "Verification",
        "How a guest's `externalId` was vouched for.",
        &["backend", "identityToken"],
    ),
    strings(
        "AgentStatus",
        "Whether an agent takes new conversations (docs/routing.md).",
        &["available", "away", "offline"],
    ),
    object(
        "Notice",
        "A deployment's notice. Written by the customer: show `text` as text, never as HTML.",
        &[
            req("id", "string"),
            req("deploymentId", "string"),
            req("text", "string"),
            req("createdAtMs", "number"),
        ],
    ),
    object(
        "QueuePosition",
        "Where a waiting guest stands in its queue (docs/routing.md, \"Queue positions\").",
        &[
            req("position", "number")
                .doc("1 is the next conversation of the queue to get an agent."),
            opt("estimatedWaitMs", "number").doc("Absent while the queue has no history."),
        ],
    ),
    object(
        "Content",
        "What a message carries beside its text (docs/bots.md).",
        &[opt("quickReplies", "QuickReply[]"), opt("cards", "Card[]"), opt("choice", "Choice")],
    ),
    object(
        "QuickReply",
        "One quick reply: `id` for the bot, `label` for the visitor.",
        &[req("id", "string"), req("label", "string")],
    ),
    object(
        "Card",
        "A card of a bot's message: plain text and https:// links.",
        &[req("title", "string"), opt("text", "string"), opt("links", "CardLink[]")],
    ),
    object("CardLink", "A link of a card.", &[req("label", "string"), req("url", "string")]),
    object(
        "Choice",
        "A guest's pick: the `seq` of the message that offered the quick reply, and its `id`.",
        &[req("seq", "number"), req("id", "string")],
    ),
    object(
        "Attachment",
        "The file of an attachment message (docs/attachments.md).",
        &[
            req("id", "string"),
            req("name", "string"),
            req("size", "number"),
            req("contentType", "string").doc("Detected from the file's first bytes."),
            flag("deleted").doc("The file's bytes are deleted: show it as removed."),
        ],
    ),
    object(
        "AttachmentLimits",
        "What may be attached, announced in `ready` and by the widget endpoint.",
        &[
            req("bytesMax", "number"),
            req("conversationBytesMax", "number"),
            req("types", "string[]"),
        ],
    ),
    object(
        "UploadRequest",
        "`POST …/attachments` body: ask for an upload.",
        &[CMID, req("name", "string"), req("size", "number"), req("contentType", "string")],
    ),
    object(
        "UploadGrant",
        "Where to `PUT` an upload's bytes, until when.",
        &[req("attachmentId", "string"), req("uploadUrl", "string"), req("expiresAtMs", "number")],
    ),
    object(
        "AttachmentUrl",
        "Short-lived URLs of one attachment (no token needed: the URL is the grant).",
        &[
            req("url", "string"),
            opt("previewUrl", "string").doc("For a PNG or JPEG: its preview, a small PNG."),
            req("expiresAtMs", "number"),
        ],
    ),
];
