//! The documents in `docs/` are contracts: these tests fail when they drift from the code.

use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};

fn doc(name: &str) -> String {
    crate::support::repo_file(&format!("docs/{name}"))
}

/// The code blocks of a document whose info string is exactly `info`.
fn blocks(text: &str, info: &str) -> Vec<String> {
    let fence = format!("```{info}\n");
    text.split(&fence).skip(1).map(|rest| rest.split("\n```").next().unwrap().to_string()).collect()
}

/// Parses an example as `T` and checks it says exactly what `T` says: nothing unknown, nothing
/// left out.
fn round_trips<T: serde::Serialize + serde::de::DeserializeOwned>(example: &str) {
    let value: serde_json::Value =
        serde_json::from_str(example).unwrap_or_else(|e| panic!("not JSON ({e}): {example}"));
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("does not parse ({e}): {example}"));
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        value,
        "the example has fields the type drops: {example}"
    );
}

#[test]
fn protocol_examples_are_valid_frames() {
    let text = doc("protocol.md");
    let server = blocks(&text, "json server");
    let client = blocks(&text, "json client");
    assert!(server.len() >= 9 && client.len() >= 5, "examples went missing");
    server.iter().for_each(|e| round_trips::<ServerFrame>(e));
    client.iter().for_each(|e| round_trips::<ClientFrame>(e));
}

#[test]
fn the_error_table_is_the_code_table() {
    let text = doc("protocol.md");
    let section =
        text.split("## Error codes").nth(1).expect("protocol.md has an `Error codes` section");
    let documented: Vec<String> =
        section.lines().filter(|l| l.starts_with("| `")).map(str::to_string).collect();
    let expected: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| {
            let s = c.spec();
            format!("| `{}` | {} | {} | {} |", c.as_str(), s.http_status, s.close_code.0, s.summary)
        })
        .collect();
    assert_eq!(
        documented,
        expected,
        "docs/protocol.md's error table differs; the expected rows are:\n{}",
        expected.join("\n")
    );
}

/// docs/identity.md's refusal table names every identity code with its table status, in table
/// order, and nothing else.
#[test]
fn the_identity_refusals_are_the_identity_codes() {
    let text = doc("identity.md");
    let section = text.split("## Refusals").nth(1).expect("identity.md has a `Refusals` section");
    let documented: Vec<(String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    let expected: Vec<(String, String)> = ErrorCode::ALL
        .iter()
        .filter(|c| c.as_str().starts_with("identity_"))
        .map(|c| (c.as_str().to_string(), c.spec().http_status.to_string()))
        .collect();
    assert_eq!(
        documented, expected,
        "docs/identity.md's refusal table differs from the code table"
    );
}

/// The limits section of docs/config.md is written from the `limits!` table, between these
/// two lines. `PORCH_UPDATE_DOCS=1` rewrites it (then read the diff).
const LIMITS_BEGIN: &str = "<!-- limits: written from crates/porch-core/src/limits.rs; PORCH_UPDATE_DOCS=1 rewrites it -->\n";
const LIMITS_END: &str = "<!-- end of limits -->";

#[test]
fn the_limits_reference_is_the_limits_table() {
    let text = doc("config.md");
    let (before, rest) = text.split_once(LIMITS_BEGIN).expect("config.md marks its limits section");
    let (documented, after) =
        rest.split_once(LIMITS_END).expect("config.md ends its limits section");
    let expected = porch_core::limits::markdown_reference();
    if documented != expected && std::env::var_os("PORCH_UPDATE_DOCS").is_some() {
        let path = crate::support::repo_path("docs/config.md");
        std::fs::write(path, format!("{before}{LIMITS_BEGIN}{expected}{LIMITS_END}{after}"))
            .unwrap();
        return;
    }
    assert!(
        documented == expected,
        "docs/config.md's limits differ from crates/porch-core/src/limits.rs; \
         rewrite them with PORCH_UPDATE_DOCS=1 cargo nextest run -p porch --test e2e limits_reference"
    );
}

/// The settings section of docs/config.md is `porch config doc`'s, which is written from the
/// settings table (`crates/porch/src/settings/table.rs`). `PORCH_UPDATE_DOCS=1` rewrites it.
const SETTINGS_BEGIN: &str = "<!-- settings: written from crates/porch/src/settings/table.rs; PORCH_UPDATE_DOCS=1 rewrites it -->\n";
const SETTINGS_END: &str = "<!-- end of settings -->";

#[test]
fn the_settings_reference_is_the_settings_table() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_porch"))
        .args(["config", "doc"])
        .output()
        .expect("porch runs");
    assert!(output.status.success());
    let reference = String::from_utf8(output.stdout).unwrap();
    let section = |text: &str, begin: &str, end: &str| -> Option<(String, String, String)> {
        let (before, rest) = text.split_once(begin)?;
        let (inside, after) = rest.split_once(end)?;
        Some((before.to_string(), inside.to_string(), after.to_string()))
    };
    let (_, expected, _) = section(&reference, SETTINGS_BEGIN, SETTINGS_END).expect("marked");
    let (_, limits, _) = section(&reference, LIMITS_BEGIN, LIMITS_END).expect("marked");
    assert_eq!(limits, porch_core::limits::markdown_reference(), "config doc's limits");
    let text = doc("config.md");
    let (before, documented, after) =
        section(&text, SETTINGS_BEGIN, SETTINGS_END).expect("config.md marks its settings section");
    if documented != expected && std::env::var_os("PORCH_UPDATE_DOCS").is_some() {
        let path = crate::support::repo_path("docs/config.md");
        std::fs::write(path, format!("{before}{SETTINGS_BEGIN}{expected}{SETTINGS_END}{after}"))
            .unwrap();
        return;
    }
    assert!(
        documented == expected,
        "docs/config.md's settings differ from `porch config doc`; rewrite them with \
         PORCH_UPDATE_DOCS=1 cargo nextest run -p porch --test e2e settings_reference"
    );
}

/// The rows of a document's table under `## title` whose first cell is code, split in cells.
fn table_rows(text: &str, title: &str) -> Vec<Vec<String>> {
    let section = text
        .split(&format!("\n## {title}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section `{title}`"))
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let rows = section.lines().filter(|l| l.starts_with("| `"));
    rows.map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect()).collect()
}

/// docs/routing.md names limits and error codes; what it says of them is what the `limits!`
/// and `error_codes!` tables say.
#[test]
fn routing_md_holds_to_the_limits_and_code_tables() {
    let text = doc("routing.md");
    let limits = table_rows(&text, "Limits");
    assert!(limits.len() >= 2, "routing.md's limits went missing");
    for cells in limits {
        let name = cells[0].trim_matches('`');
        let row = porch_core::limits::ROWS
            .iter()
            .find(|r| r.setting == Some(name) || r.constant == name)
            .unwrap_or_else(|| panic!("routing.md names a limit `{name}` the table lacks"));
        assert_eq!(cells[1], format!("{} {}", row.default, row.unit), "{name}'s default");
        let set_with = match (row.flag(), row.env()) {
            (Some(flag), Some(env)) => format!("`{flag}`, `{env}`"),
            _ => "fixed".to_string(),
        };
        assert_eq!(cells[2], set_with, "how {name} is set");
    }
    let codes = table_rows(&text, "Error codes");
    assert!(codes.len() >= 2, "routing.md's error codes went missing");
    for cells in codes {
        let name = cells[0].trim_matches('`');
        let code = ErrorCode::from_name(name)
            .unwrap_or_else(|| panic!("routing.md names an unknown code `{name}`"));
        assert_eq!(cells[1], code.spec().http_status.to_string(), "{name}'s status");
    }
}

#[test]
fn api_examples_match_their_types() {
    use porch_wire::rest::*;
    let text = doc("api.md");
    use porch_wire::bot::{
        AgentHandoff, BotMessageRequest, BotSession, BotTokenRequest, Handoff, HandoffRequest,
    };
    use porch_wire::supervisor::{HandoverOptions, SupervisorOverview};
    use porch_wire::webhook::{
        CreateWebhookEndpointRequest, DeadDeliveryList, RotateWebhookSecretRequest,
        WebhookEndpoint, WebhookEndpointList, WebhookReplay, WebhookSecret,
    };
    let checks: [(&str, fn(&str)); 45] = [
        ("ErrorBody", round_trips::<ErrorBody>),
        ("TokenResponse", round_trips::<TokenResponse>),
        ("CreateGuestRequest", round_trips::<CreateGuestRequest>),
        ("GuestSession", round_trips::<GuestSession>),
        ("SendMessageRequest", round_trips::<SendMessageRequest>),
        ("SendMessageResponse", round_trips::<SendMessageResponse>),
        ("MessagePage", round_trips::<MessagePage>),
        ("GuestQueue", round_trips::<GuestQueue>),
        ("AgentLoginRequest", round_trips::<AgentLoginRequest>),
        ("AgentSession", round_trips::<AgentSession>),
        ("AgentStatusRequest", round_trips::<AgentStatusRequest>),
        ("AgentStatusResponse", round_trips::<AgentStatusResponse>),
        ("TransferRequest", round_trips::<porch_wire::rest::TransferRequest>),
        ("CloseRequest", round_trips::<porch_wire::rest::CloseRequest>),
        ("ConversationList", round_trips::<ConversationList>),
        ("ConversationPage", round_trips::<ConversationPage>),
        ("CannedReplyList", round_trips::<CannedReplyList>),
        ("VisitorContext", round_trips::<VisitorContext>),
        ("Conversation", round_trips::<Conversation>),
        ("IntrospectionResponse", round_trips::<IntrospectionResponse>),
        ("WidgetGuestRequest", round_trips::<WidgetGuestRequest>),
        ("IdentifyGuestRequest", round_trips::<IdentifyGuestRequest>),
        ("SetNoticeRequest", round_trips::<SetNoticeRequest>),
        ("NoticeState", round_trips::<NoticeState>),
        ("WidgetConfig", round_trips::<WidgetConfig>),
        ("CreateWebhookEndpointRequest", round_trips::<CreateWebhookEndpointRequest>),
        ("WebhookEndpoint", round_trips::<WebhookEndpoint>),
        ("WebhookEndpointList", round_trips::<WebhookEndpointList>),
        ("RotateWebhookSecretRequest", round_trips::<RotateWebhookSecretRequest>),
        ("WebhookSecret", round_trips::<WebhookSecret>),
        ("DeadDeliveryList", round_trips::<DeadDeliveryList>),
        ("WebhookReplay", round_trips::<WebhookReplay>),
        ("BotTokenRequest", round_trips::<BotTokenRequest>),
        ("BotSession", round_trips::<BotSession>),
        ("BotMessageRequest", round_trips::<BotMessageRequest>),
        ("HandoffRequest", round_trips::<HandoffRequest>),
        ("Handoff", round_trips::<Handoff>),
        ("AgentHandoff", round_trips::<AgentHandoff>),
        ("UploadRequest", round_trips::<porch_wire::attachment::UploadRequest>),
        ("UploadGrant", round_trips::<porch_wire::attachment::UploadGrant>),
        ("AttachmentUrl", round_trips::<porch_wire::attachment::AttachmentUrl>),
        ("EraseCustomerRequest", round_trips::<EraseCustomerRequest>),
        ("CustomerErasure", round_trips::<CustomerErasure>),
        ("SupervisorOverview", round_trips::<SupervisorOverview>),
        ("HandoverOptions", round_trips::<HandoverOptions>),
    ];
    let mut checked = 0;
    for (name, check) in checks {
        for example in blocks(&text, &format!("json {name}")) {
            check(&example);
            checked += 1;
        }
    }
    let tagged = text.matches("```json ").count();
    assert_eq!(checked, tagged, "every ```json block in api.md names a type this test knows");
}

#[test]
fn the_cluster_event_in_deploy_md_is_what_nodes_send() {
    let examples = blocks(&doc("deploy.md"), "json");
    assert_eq!(examples.len(), 1, "deploy.md shows one cluster event");
    round_trips::<porch_wire::event::ClusterEvent<'static>>(&examples[0]);
}

/// docs/webhooks.md shows one body per event type, each exactly a `WebhookEvent`, in the order
/// of `EventType::ALL`, under a heading naming its type.
#[test]
fn webhooks_md_shows_every_event() {
    use porch_core::webhook::EventType;
    use porch_wire::webhook::WebhookEvent;
    let text = doc("webhooks.md");
    let examples = blocks(&text, "json WebhookEvent");
    let types: Vec<String> = examples
        .iter()
        .map(|example| {
            round_trips::<WebhookEvent>(example);
            serde_json::from_str::<WebhookEvent>(example).unwrap().event_type
        })
        .collect();
    let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(types, all, "one example per event type, in EventType::ALL's order");
    for t in all {
        assert!(text.contains(&format!("### `{t}`")), "webhooks.md has a section for {t}");
    }
    assert_eq!(text.matches("```json").count(), examples.len(), "every JSON block is an event");
}
