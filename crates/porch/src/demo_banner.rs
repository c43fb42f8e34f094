//! What the first start prints about the demo set-up it made: the secrets (shown once), the
//! pages to open with the demo deployment filled in, and the first API call of the README's
//! tour. Kept apart from `serve` so the text is tested without starting a server.

use porch_server::admin::Demo;

/// The banner, for a server reachable at `public_url` (no trailing slash).
pub fn text(demo: &Demo, public_url: &str) -> String {
    let dep = &demo.deployment.id;
    let cid = &demo.client.record.id;
    let csec = &demo.client.secret;
    let aname = &demo.agent.record.name;
    format!(
        "\nFirst start: created a demo set-up. These secrets are shown once.\n\
         \n  deployment   {dep}  (origins: {origins}; queue {queue})\
         \n  client       id {cid}\n               secret {csec}  (scopes guests, notices)\
         \n  agent        name {aname}\n               secret {asec}\n\
         \nOpen in a browser (Porch keeps this terminal; use another one for curl and the CLI):\
         \n  widget       {public_url}/examples/widget-host.html?deployment={dep}\
         \n  console      {public_url}/console/  (log in as {aname} with its secret)\
         \n  custom UI    {public_url}/examples/custom-ui.html?deployment={dep}\n\
         \nTry the API (README, \"Five minutes with Porch\"):\
         \n  curl -s -u '{cid}:{csec}' -d grant_type=client_credentials {public_url}/api/v2/oauth/token\n",
        origins = demo.deployment.origins.join(", "),
        queue = demo.deployment.queue,
        asec = demo.agent.secret,
    )
}

#[cfg(test)]
mod tests {
    use porch_core::model::{AgentRecord, ClientRecord, DeploymentRecord};
    use porch_server::admin::Created;

    use super::*;

    #[test]
    fn the_banner_links_every_page_with_the_demo_deployment() {
        let demo = Demo {
            deployment: DeploymentRecord {
                id: "dep_demo1".into(),
                name: "demo".into(),
                origins: vec!["http://127.0.0.1:8080".into()],
                queue: "default".into(),
                guest_token_ttl_secs: 3600,
                enabled: true,
                created_at_ms: 0,
                notice: None,
                welcome: porch_wire::rest::Welcome::default(),
            },
            client: Created {
                record: ClientRecord {
                    id: "cli_demo1".into(),
                    name: "demo".into(),
                    secret_hash: String::new(),
                    scopes: vec![],
                    created_at_ms: 0,
                    standing: Default::default(),
                },
                secret: "sec_c".into(),
            },
            agent: Created {
                record: AgentRecord {
                    id: "agt_demo1".into(),
                    name: "demo-agent".into(),
                    secret_hash: String::new(),
                    queues: vec!["default".into()],
                    created_at_ms: 0,
                    standing: Default::default(),
                    supervisor: false,
                    profile: Default::default(),
                },
                secret: "sec_a".into(),
            },
        };
        let text = text(&demo, "http://127.0.0.1:8080");
        for line in [
            "widget       http://127.0.0.1:8080/examples/widget-host.html?deployment=dep_demo1",
            "console      http://127.0.0.1:8080/console/  (log in as demo-agent with its secret)",
            "custom UI    http://127.0.0.1:8080/examples/custom-ui.html?deployment=dep_demo1",
            "curl -s -u 'cli_demo1:sec_c' -d grant_type=client_credentials http://127.0.0.1:8080/api/v2/oauth/token",
            "secret sec_a",
        ] {
            assert!(text.contains(line), "the banner lacks `{line}`:\n{text}");
        }
        assert!(!text.contains("$DEPLOYMENT"), "no placeholder left for the reader to fill in");
    }
}
