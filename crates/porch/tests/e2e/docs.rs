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
    let checks: [(&str, fn(&str)); 18] = [
        ("ErrorBody", round_trips::<ErrorBody>),
        ("TokenResponse", round_trips::<TokenResponse>),
        ("CreateGuestRequest", round_trips::<CreateGuestRequest>),
        ("GuestSession", round_trips::<GuestSession>),
        ("SendMessageRequest", round_trips::<SendMessageRequest>),
        ("SendMessageResponse", round_trips::<SendMessageResponse>),
        ("MessagePage", round_trips::<MessagePage>),
        ("AgentLoginRequest", round_trips::<AgentLoginRequest>),
        ("AgentSession", round_trips::<AgentSession>),
        ("AgentStatusRequest", round_trips::<AgentStatusRequest>),
        ("AgentStatusResponse", round_trips::<AgentStatusResponse>),
        ("ConversationList", round_trips::<ConversationList>),
        ("Conversation", round_trips::<Conversation>),
        ("IntrospectionResponse", round_trips::<IntrospectionResponse>),
        ("WidgetGuestRequest", round_trips::<WidgetGuestRequest>),
        ("SetNoticeRequest", round_trips::<SetNoticeRequest>),
        ("NoticeState", round_trips::<NoticeState>),
        ("WidgetConfig", round_trips::<WidgetConfig>),
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
