//! `/metrics` as Prometheus reads it, and the Grafana dashboard of `deploy/grafana/` held to
//! it: every metric a dashboard query names is one Porch exposes.

use std::collections::BTreeSet;

use crate::support::{TestServer, cluster_mode};

async fn scrape(server: &TestServer) -> String {
    let response = server.api.http().get(server.api.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the sample line named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    let line =
        text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {series}"));
    line[prefix.len()..].parse().unwrap()
}

/// Every series name `/metrics` can hold: each family's `# TYPE` line, with a histogram's
/// `_bucket`, `_sum` and `_count`.
fn exposed_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let (name, kind) = line.split_once(' ').unwrap();
        if kind == "histogram" {
            names.extend(["_bucket", "_sum", "_count"].map(|s| format!("{name}{s}")));
        } else {
            names.insert(name.to_string());
        }
    }
    names
}

#[tokio::test]
async fn latencies_queue_and_pool_are_exposed_and_move() {
    let server = TestServer::start().await;
    let before = scrape(&server).await;
    let (guest, _socket) = server.connected_guest().await;
    server.api.guest_send(&guest.access_token, "m1", "hello").await.unwrap();
    let after = scrape(&server).await;
    for histogram in
        ["porch_gateway_handshake_seconds", "porch_store_commit_seconds", "porch_fanout_seconds"]
    {
        let count = format!("{histogram}_count");
        // Tests share the process's counters: other tests may add, none subtracts.
        assert!(sample(&after, &count) > sample(&before, &count), "{count} did not move");
        let inf = sample(&after, &format!("{histogram}_bucket{{le=\"+Inf\"}}"));
        assert_eq!(inf, sample(&after, &count), "{histogram}: +Inf is the count");
        assert!(sample(&after, &format!("{histogram}_sum")) > 0.0);
    }
    assert!(after.contains("# TYPE porch_store_commit_seconds histogram\n"));
    let size = sample(&after, "porch_store_pool_connections");
    assert!(size >= 1.0 && sample(&after, "porch_store_pool_in_use") <= size, "{after}");
    assert!(after.contains("porch_broker_dropped_total "));
    if !cluster_mode() {
        assert_eq!(size, porch_core::limits::SQLITE_READ_CONNECTIONS as f64, "SQLite's readers");
        assert!(sample(&after, "porch_store_write_queue") >= 0.0);
        let batches = "porch_store_write_batches_total";
        assert!(sample(&after, batches) > sample(&before, batches), "{batches} did not move");
    }
}

/// Metrics only a SQLite node has: its writer's queue and batches.
const SQLITE_ONLY: [&str; 2] = ["porch_store_write_queue", "porch_store_write_batches_total"];

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exposed() {
    // A data directory, as `porch serve` on SQLite has, so its free space is reported too.
    let server = TestServer::start_with(|c| c.data_dir = Some(std::env::temp_dir())).await;
    let mut exposed = exposed_names(&scrape(&server).await);
    if cluster_mode() {
        exposed.extend(SQLITE_ONLY.map(String::from));
    }
    let path = crate::support::repo_path("deploy/grafana/porch.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "the dashboard lost its queries: {exprs:?}");
    let mut queried = BTreeSet::new();
    for expr in &exprs {
        for name in metric_names(expr) {
            assert!(exposed.contains(&name), "`{expr}` queries {name}, which /metrics lacks");
            queried.insert(name);
        }
    }
    for wanted in [
        "porch_gateway_handshake_seconds_bucket",
        "porch_store_commit_seconds_bucket",
        "porch_fanout_seconds_bucket",
        "porch_store_write_queue",
        "porch_store_pool_in_use",
        "porch_broker_dropped_total",
        "porch_refusals_total",
        "porch_gateway_sessions",
    ] {
        assert!(queried.contains(wanted), "the dashboard does not show {wanted}");
    }
}

/// Every query string of the dashboard: each panel target's `expr`, and the template
/// variables' `query` and `definition`.
fn collect_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query" | "definition", serde_json::Value::String(expr)) => {
                        out.push(expr.clone())
                    }
                    _ => collect_exprs(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The `porch_…` identifiers of a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("porch_") {
        let tail = &rest[start..];
        let end =
            tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// With `metrics_listen`, `/metrics` leaves the public listener for the internal one, which
/// serves health too and nothing else.
#[tokio::test]
async fn metrics_move_to_the_internal_listener_when_asked() {
    let server = TestServer::start_with(|c| c.metrics_internal = true).await;
    let http = server.api.http().clone();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    assert_eq!(get(server.api.url("/metrics")).await.status(), 404, "not public");
    assert_eq!(get(server.api.url("/readyz")).await.status(), 200, "health stays public");
    let listener = porch_server::bind("127.0.0.1:0".parse().unwrap(), 128).unwrap();
    let internal = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(porch_server::serve_internal(listener, server.state.clone()));
    let metrics = get(format!("{internal}/metrics")).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("# TYPE porch_store_commit_seconds histogram"));
    assert_eq!(get(format!("{internal}/readyz")).await.status(), 200);
    assert_eq!(get(format!("{internal}/livez")).await.status(), 200);
    let api = get(format!("{internal}{}", porch_wire::OPENAPI_PATH)).await;
    assert_eq!(api.status(), 404, "the internal listener serves nothing else");
}
