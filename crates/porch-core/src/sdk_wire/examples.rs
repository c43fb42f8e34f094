//! Rust values of every wire type `porch_wire::ts` declares, serialized by serde: the evidence
//! that the declarations say what the bytes are. Each object type has a full example (every
//! `Option` set, every list filled, every flag true), so its keys are all its fields, and
//! most a minimal one (what serde leaves out). A new field is a compile error here: give it a
//! value, and its declaration in `porch_wire::ts` follows (the test fails until it does).

use std::collections::BTreeMap;

use porch_wire::attachment::{
    Attachment, AttachmentLimits, AttachmentUrl, UploadGrant, UploadRequest,
};
use porch_wire::bot::{Card, CardLink, Choice, Content, QuickReply};
use porch_wire::frame::{ConnectionLimits, OfferEndReason, Ready, Resume};
use porch_wire::rest::*;
use porch_wire::supervisor::AgentOverview;
use porch_wire::{ClientFrame, ErrorCode, ServerFrame};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One serialized example, by the name of its declaration.
pub type Example = (&'static str, Value);

/// Every example, frames first.
pub fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for frame in client_frames() {
        push(&mut out, "ClientFrame", &frame);
    }
    for frame in server_frames() {
        push(&mut out, "ServerFrame", &frame);
    }
    frame_bodies(&mut out);
    rest_bodies(&mut out);
    out
}

/// The tags serde knows for each enum declaration, in its order (from its own "unknown
/// variant" error, which lists them): what the declarations must list.
pub fn serde_tags() -> Vec<(&'static str, Vec<String>)> {
    let tagged = json!({ "type": "\u{0}" });
    vec![
        ("ClientFrame", known::<ClientFrame>(&tagged)),
        ("ServerFrame", known::<ServerFrame>(&tagged)),
        ("OfferEndReason", known::<OfferEndReason>(&json!("\u{0}"))),
        ("Role", known::<Role>(&json!("\u{0}"))),
        ("ConversationState", known::<ConversationState>(&json!("\u{0}"))),
        ("Verification", known::<Verification>(&json!("\u{0}"))),
        ("AgentStatus", known::<AgentStatus>(&json!("\u{0}"))),
        ("PreviewKind", known::<PreviewKind>(&json!("\u{0}"))),
    ]
}

/// The fields serde reads for each struct declaration, by their wire names, in its order
/// (`#[serde(flatten)]` structs, `WidgetConfig`, are read as maps: their examples hold them).
pub fn serde_fields() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("Ready", fields::<Ready>()),
        ("Resume", fields::<Resume>()),
        ("ConnectionLimits", fields::<ConnectionLimits>()),
        ("Participant", fields::<Participant>()),
        ("Message", fields::<Message>()),
        ("Conversation", fields::<Conversation>()),
        ("Guest", fields::<Guest>()),
        ("Preview", fields::<Preview>()),
        ("AgentCard", fields::<AgentCard>()),
        ("Notice", fields::<Notice>()),
        ("QueuePosition", fields::<QueuePosition>()),
        ("Content", fields::<Content>()),
        ("QuickReply", fields::<QuickReply>()),
        ("Card", fields::<Card>()),
        ("CardLink", fields::<CardLink>()),
        ("Choice", fields::<Choice>()),
        ("Attachment", fields::<Attachment>()),
        ("AttachmentLimits", fields::<AttachmentLimits>()),
        ("UploadRequest", fields::<UploadRequest>()),
        ("UploadGrant", fields::<UploadGrant>()),
        ("AttachmentUrl", fields::<AttachmentUrl>()),
        ("ErrorBody", fields::<ErrorBody>()),
        ("GuestSession", fields::<GuestSession>()),
        ("WidgetGuestRequest", fields::<WidgetGuestRequest>()),
        ("VisitorContext", fields::<VisitorContext>()),
        ("IdentifyGuestRequest", fields::<IdentifyGuestRequest>()),
        ("SendMessageRequest", fields::<SendMessageRequest>()),
        ("SendMessageResponse", fields::<SendMessageResponse>()),
        ("MessagePage", fields::<MessagePage>()),
        ("ConversationPage", fields::<ConversationPage>()),
        ("ConversationList", fields::<ConversationList>()),
        ("GuestQueue", fields::<GuestQueue>()),
        ("AgentLoginRequest", fields::<AgentLoginRequest>()),
        ("AgentSession", fields::<AgentSession>()),
        ("TransferRequest", fields::<TransferRequest>()),
        ("CloseRequest", fields::<CloseRequest>()),
        ("AgentStatusRequest", fields::<AgentStatusRequest>()),
        ("AgentStatusResponse", fields::<AgentStatusResponse>()),
        ("AgentOverview", fields::<AgentOverview>()),
        ("CannedReply", fields::<CannedReply>()),
        ("CannedReplyList", fields::<CannedReplyList>()),
        ("NoticeState", fields::<NoticeState>()),
        ("Welcome", fields::<Welcome>()),
    ]
}

/// The field list serde's derive hands `deserialize_struct`.
fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut seen = None;
    let _ = T::deserialize(FieldTracer(&mut seen));
    seen.unwrap_or_else(|| panic!("{} is not read as a struct", std::any::type_name::<T>()))
}

/// A deserializer that only notes the fields a struct asks for, then fails.
struct FieldTracer<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> serde::Deserializer<'de> for FieldTracer<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(serde::de::Error::custom("traced"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The `expected` list of serde's error for a value no variant matches.
fn known<T: DeserializeOwned>(probe: &Value) -> Vec<String> {
    let err = match serde_json::from_value::<T>(probe.clone()) {
        Ok(_) => panic!("{probe} is no variant"),
        Err(e) => e.to_string(),
    };
    let expected = err.split_once("expected").map_or("", |(_, rest)| rest);
    expected.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

fn push<T: Serialize>(out: &mut Vec<Example>, name: &'static str, value: &T) {
    out.push((name, serde_json::to_value(value).expect("wire types serialize")));
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn some(text: &str) -> Option<String> {
    Some(s(text))
}

fn client_frames() -> Vec<ClientFrame> {
    let conv = || some("c_1");
    vec![
        ClientFrame::Send { client_message_id: s("m1"), text: s("hi"), conversation_id: conv() },
        ClientFrame::Send { client_message_id: s("m1"), text: s("hi"), conversation_id: None },
        ClientFrame::Choose { client_message_id: s("m2"), text: s("Yes"), choice: choice() },
        ClientFrame::Typing { conversation_id: conv() },
        ClientFrame::Read { seq: 4, conversation_id: conv() },
        ClientFrame::Status { status: s("away") },
        ClientFrame::Accept { conversation_id: s("c_1") },
        ClientFrame::Decline { conversation_id: s("c_1") },
        ClientFrame::Transfer {
            conversation_id: s("c_1"),
            agent_id: some("a_2"),
            queue: some("sales"),
            note: some("VIP"),
        },
        ClientFrame::Transfer {
            conversation_id: s("c_1"),
            agent_id: None,
            queue: None,
            note: None,
        },
        ClientFrame::Unassign { conversation_id: s("c_1") },
        ClientFrame::Close { conversation_id: s("c_1"), wrap_up: some("solved") },
        ClientFrame::Refresh { token: s("eyJ…") },
        ClientFrame::Ping { id: some("7") },
        ClientFrame::Ping { id: None },
    ]
}

fn server_frames() -> Vec<ServerFrame> {
    let conv = || s("c_1");
    vec![
        ServerFrame::Ready(ready()),
        ServerFrame::Ready(Ready { resume: None, queue: None, notice: None, ..ready_minimal() }),
        ServerFrame::Message { message: message() },
        ServerFrame::Ack {
            client_message_id: s("m1"),
            message: message_minimal(),
            duplicate: false,
        },
        ServerFrame::Typing { conversation_id: conv(), participant: participant() },
        ServerFrame::Read { conversation_id: conv(), participant: participant(), seq: 3 },
        ServerFrame::Conversation { conversation: conversation() },
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: s("slow down"),
            client_message_id: some("m1"),
            retry_after_ms: Some(500),
        },
        ServerFrame::Error {
            code: ErrorCode::BadJson,
            message: s("x"),
            client_message_id: None,
            retry_after_ms: None,
        },
        ServerFrame::Notice { notice: Some(notice()) },
        ServerFrame::Notice { notice: None },
        ServerFrame::Queue {
            conversation_id: conv(),
            position: 2,
            estimated_wait_ms: Some(60_000),
        },
        ServerFrame::Status { status: AgentStatus::Away },
        ServerFrame::Agent { agent: agent_overview() },
        ServerFrame::Offer { conversation: conversation(), expires_at_ms: 1_700_000_000_000 },
        ServerFrame::OfferEnded { conversation_id: conv(), reason: OfferEndReason::Expired },
        ServerFrame::Refreshed { token_expires_in_ms: 900_000 },
        ServerFrame::Pong { id: some("7") },
    ]
}

fn frame_bodies(out: &mut Vec<Example>) {
    push(out, "Ready", &ready());
    push(out, "Ready", &ready_minimal());
    push(out, "Resume", &resume());
    push(out, "Resume", &Resume { reason: None, ..resume() });
    push(out, "ConnectionLimits", &limits());
    push(out, "Participant", &participant());
    push(out, "Participant", &Participant { display_name: None, ..participant() });
    push(out, "Message", &message());
    push(out, "Message", &message_minimal());
    push(out, "Conversation", &conversation());
    push(
        out,
        "Conversation",
        &Conversation {
            assigned_agent_id: None,
            guest: guest_minimal(),
            reopen_until_ms: None,
            last_message: None,
            agent: None,
            ..conversation()
        },
    );
    push(out, "Guest", &guest());
    push(out, "LastMessage", &last_message());
    let mut cut = last_message();
    cut.preview.truncated = true;
    push(out, "LastMessage", &cut);
    push(out, "Preview", &last_message().preview);
    let cut = Preview { truncated: true, kind: PreviewKind::Attachment, ..last_message().preview };
    push(out, "Preview", &cut);
    push(out, "Preview", &Preview { kind: PreviewKind::System, ..last_message().preview });
    push(out, "AgentCard", &agent_card());
    push(out, "AgentCard", &AgentCard { avatar_url: None, ..agent_card() });
    push(out, "Guest", &guest_minimal());
    push(out, "Notice", &notice());
    push(out, "QueuePosition", &queue());
    push(out, "QueuePosition", &QueuePosition { estimated_wait_ms: None, ..queue() });
    push(out, "Content", &content());
    push(out, "Content", &Content::default());
    push(out, "QuickReply", &quick_reply());
    push(out, "Card", &card());
    push(out, "Card", &Card { text: None, links: vec![], ..card() });
    push(out, "CardLink", &link());
    push(out, "Choice", &choice());
    push(out, "Attachment", &attachment());
    push(out, "Attachment", &Attachment { deleted: false, ..attachment() });
    push(out, "AttachmentLimits", &attachment_limits());
    let upload = UploadRequest {
        client_message_id: s("m3"),
        name: s("a.png"),
        size: 3,
        content_type: s("image/png"),
    };
    push(out, "UploadRequest", &upload);
    let grant =
        UploadGrant { attachment_id: s("att_1"), upload_url: s("https://x/u"), expires_at_ms: 1 };
    push(out, "UploadGrant", &grant);
    let url =
        AttachmentUrl { url: s("https://x/c"), preview_url: some("https://x/p"), expires_at_ms: 1 };
    push(out, "AttachmentUrl", &url);
    push(out, "AttachmentUrl", &AttachmentUrl { preview_url: None, ..url });
}

fn rest_bodies(out: &mut Vec<Example>) {
    let error = ErrorBody {
        error: ErrorCode::TokenExpired,
        error_description: s("x"),
        error_ref: some("r1"),
    };
    push(out, "ErrorBody", &error);
    push(out, "ErrorBody", &ErrorBody { error_ref: None, ..error });
    push(out, "GuestSession", &guest_session());
    let attributes = BTreeMap::from([(s("plan"), s("pro"))]);
    let widget = WidgetGuestRequest {
        display_name: some("Ada"),
        email: some("ada@example.com"),
        attributes,
        context: Some(visitor()),
        identity_token: some("eyJ…"),
    };
    push(out, "WidgetGuestRequest", &widget);
    push(out, "WidgetGuestRequest", &WidgetGuestRequest::default());
    push(out, "VisitorContext", &visitor());
    push(out, "VisitorContext", &VisitorContext::default());
    push(out, "IdentifyGuestRequest", &IdentifyGuestRequest { identity_token: s("eyJ…") });
    let send =
        SendMessageRequest { client_message_id: s("m1"), text: s("Yes"), choice: Some(choice()) };
    push(out, "SendMessageRequest", &send);
    push(out, "SendMessageRequest", &SendMessageRequest { choice: None, ..send });
    push(out, "SendMessageResponse", &SendMessageResponse { message: message(), duplicate: true });
    push(
        out,
        "MessagePage",
        &MessagePage { messages: vec![message()], has_more: true, last_seq: 9 },
    );
    push(
        out,
        "ConversationPage",
        &ConversationPage { conversations: vec![conversation()], has_more: false },
    );
    push(out, "ConversationList", &ConversationList { conversations: vec![conversation()] });
    push(out, "GuestQueue", &GuestQueue { queue: Some(queue()) });
    push(out, "GuestQueue", &GuestQueue { queue: None });
    push(out, "AgentLoginRequest", &AgentLoginRequest { name: s("ada"), secret: s("pw") });
    push(out, "AgentSession", &agent_session());
    push(out, "AgentSession", &AgentSession { supervisor: false, ..agent_session() });
    let transfer =
        TransferRequest { agent_id: some("a_2"), queue: some("sales"), note: some("VIP") };
    push(out, "TransferRequest", &transfer);
    push(out, "TransferRequest", &TransferRequest::default());
    push(out, "CloseRequest", &CloseRequest { wrap_up: some("solved") });
    push(out, "CloseRequest", &CloseRequest::default());
    push(out, "AgentStatusRequest", &AgentStatusRequest { status: s("available") });
    let status = AgentStatusResponse {
        agent_id: s("a_1"),
        status: AgentStatus::Available,
        capacity: 3,
        load: 1,
    };
    push(out, "AgentStatusResponse", &status);
    push(out, "AgentOverview", &agent_overview());
    push(out, "CannedReply", &canned());
    push(out, "CannedReplyList", &CannedReplyList { replies: vec![canned()] });
    push(out, "NoticeState", &NoticeState { notice: Some(notice()) });
    push(out, "NoticeState", &NoticeState { notice: None });
    push(out, "Welcome", &welcome());
    push(out, "Welcome", &Welcome::default());
    push(out, "WidgetConfig", &widget_config());
    push(
        out,
        "WidgetConfig",
        &WidgetConfig { notice: None, welcome: Welcome::default(), ..widget_config() },
    );
}

fn ready() -> Ready {
    Ready {
        conversation: Some(conversation()),
        conversations: vec![conversation()],
        more_conversations: true,
        last_seq: Some(9),
        notice: Some(notice()),
        queue: Some(queue()),
        resume: Some(resume()),
        ..ready_minimal()
    }
}

fn ready_minimal() -> Ready {
    Ready {
        session_id: s("s_1"),
        role: Role::Guest,
        participant: participant(),
        conversation: None,
        conversations: vec![],
        more_conversations: false,
        last_seq: None,
        notice: None,
        queue: None,
        resume: None,
        heartbeat_interval_ms: 30_000,
        token_expires_in_ms: 900_000,
        limits: limits(),
    }
}

fn resume() -> Resume {
    Resume { recovered: false, after_seq: 3, replayed: 0, reason: some("gap too large") }
}

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        message_bytes_max: 65_536,
        text_chars_max: 4_096,
        attachments: attachment_limits(),
    }
}

fn attachment_limits() -> AttachmentLimits {
    AttachmentLimits {
        bytes_max: 10_000_000,
        conversation_bytes_max: 50_000_000,
        types: vec![s("image/png")],
    }
}

fn participant() -> Participant {
    Participant { role: Role::Agent, id: s("a_1"), display_name: some("Ada") }
}

fn message() -> Message {
    Message {
        client_message_id: some("m1"),
        event: Some(ConversationState::Assigned),
        content: Some(content()),
        note: some("VIP"),
        wrap_up: some("solved"),
        attachment: Some(attachment()),
        erased: true,
        reopened: true,
        fallback: true,
        ..message_minimal()
    }
}

fn message_minimal() -> Message {
    Message {
        id: s("msg_1"),
        conversation_id: s("c_1"),
        seq: 1,
        client_message_id: None,
        sender: Participant { role: Role::System, id: s("porch"), display_name: None },
        text: s("hi"),
        event: None,
        content: None,
        note: None,
        wrap_up: None,
        created_at_ms: 1_700_000_000_000,
        attachment: None,
        erased: false,
        reopened: false,
        fallback: false,
    }
}

fn last_message() -> LastMessage {
    LastMessage {
        seq: 9,
        created_at_ms: 2,
        preview: Preview {
            sender_role: Role::Guest,
            sender_id: s("g_1"),
            kind: PreviewKind::Text,
            text: s("Where is my order?"),
            truncated: false,
        },
    }
}

fn agent_card() -> AgentCard {
    AgentCard { name: s("Ada"), avatar_url: some("https://example.com/ada.png") }
}

fn agent_overview() -> AgentOverview {
    AgentOverview {
        id: s("a_2"),
        name: s("bob"),
        status: AgentStatus::Available,
        capacity: 3,
        load: 1,
        queues: vec![s("support")],
        supervisor: false,
    }
}

fn conversation() -> Conversation {
    Conversation {
        id: s("c_1"),
        deployment_id: s("d_1"),
        queue: s("support"),
        state: ConversationState::Waiting,
        guest: guest(),
        assigned_agent_id: some("a_1"),
        last_seq: 9,
        created_at_ms: 1,
        reopen_until_ms: Some(300_001),
        updated_at_ms: 2,
        last_message: Some(last_message()),
        agent: Some(agent_card()),
    }
}

fn guest() -> Guest {
    Guest {
        display_name: some("Ada"),
        email: some("ada@example.com"),
        external_id: some("cust-1"),
        attributes: BTreeMap::from([(s("plan"), s("pro"))]),
        verified_by: Some(Verification::IdentityToken),
        ..guest_minimal()
    }
}

fn guest_minimal() -> Guest {
    Guest { id: s("g_1"), created_at_ms: 1, ..Guest::default() }
}

fn notice() -> Notice {
    Notice { id: s("n_1"), deployment_id: s("d_1"), text: s("Closed on Sunday"), created_at_ms: 1 }
}

fn queue() -> QueuePosition {
    QueuePosition { position: 2, estimated_wait_ms: Some(60_000) }
}

fn content() -> Content {
    Content { quick_replies: vec![quick_reply()], cards: vec![card()], choice: Some(choice()) }
}

fn quick_reply() -> QuickReply {
    QuickReply { id: s("yes"), label: s("Yes") }
}

fn card() -> Card {
    Card { title: s("Plans"), text: some("Compare"), links: vec![link()] }
}

fn link() -> CardLink {
    CardLink { label: s("Pricing"), url: s("https://example.com/pricing") }
}

fn choice() -> Choice {
    Choice { seq: 4, id: s("yes") }
}

fn attachment() -> Attachment {
    Attachment {
        id: s("att_1"),
        name: s("a.png"),
        size: 3,
        content_type: s("image/png"),
        deleted: true,
    }
}

fn guest_session() -> GuestSession {
    GuestSession {
        guest_id: s("g_1"),
        conversation_id: s("c_1"),
        deployment_id: s("d_1"),
        gateway_url: s("wss://chat.example.com/api/v2/gateway"),
        access_token: s("eyJ…"),
        token_type: s("Bearer"),
        expires_in: 900,
        expires_at_ms: 1,
        guest: guest(),
    }
}

fn visitor() -> VisitorContext {
    VisitorContext {
        page_url: some("https://example.com/"),
        page_title: some("Home"),
        user_agent: some("UA"),
    }
}

fn agent_session() -> AgentSession {
    AgentSession {
        agent_id: s("a_1"),
        name: s("ada"),
        access_token: s("eyJ…"),
        token_type: s("Bearer"),
        expires_in: 900,
        expires_at_ms: 1,
        gateway_url: s("wss://chat.example.com/api/v2/gateway"),
        queues: vec![s("support")],
        supervisor: true,
    }
}

fn canned() -> CannedReply {
    CannedReply { shortcut: s("hi"), text: s("Hello!") }
}

fn welcome() -> Welcome {
    Welcome { greeting: some("Hello"), reply_within_mins: Some(5), offline_form: false }
}

fn widget_config() -> WidgetConfig {
    WidgetConfig {
        notice: Some(notice()),
        welcome: welcome(),
        agents_available: true,
        attachments: attachment_limits(),
    }
}
