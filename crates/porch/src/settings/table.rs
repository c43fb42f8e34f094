//! Every setting that is not a limit, in one table: its file key, flag, variable, default and
//! meaning. From it come the flags' help (`settings::ServeArgs`), the settings section of
//! `docs/config.md` (`porch config doc`; a test compares), and `porch config default`. A test
//! holds the table to the flags clap parses and the keys the file accepts, both ways.
//!
//! Limits have their own table (`porch_core::limits`), which the same outputs follow.

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct SettingRow {
    /// The key in the TOML file, e.g. `broker_subject`.
    pub key: &'static str,
    /// The flag, e.g. `--broker-subject`.
    pub flag: &'static str,
    /// The environment variable, e.g. `PORCH_BROKER_SUBJECT`.
    pub env: &'static str,
    /// The default, in Markdown, as people read it (`none`, a random `nod_…`).
    pub default: &'static str,
    /// The default as a TOML value, when there is one a file could write.
    pub toml_default: Option<&'static str>,
    /// A value to show in `porch config default` when there is no default.
    pub toml_example: &'static str,
    /// A secret (a URL with a password): it may be read from a file instead (`key_file`,
    /// `ENV_FILE`), and is never printed.
    pub secret: bool,
    /// What it does; the first sentence is the flag's short help.
    pub doc: &'static str,
}

impl SettingRow {
    /// The doc as one paragraph.
    pub fn text(&self) -> String {
        let mut text = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        if self.secret {
            text.push_str(&format!(
                " A secret: give it in a file instead with `{}` or `{}` (Docker and Kubernetes secrets), never in a command line.",
                self.file_key(),
                self.file_env()
            ));
        }
        text
    }

    /// The first sentence of the doc: the flag's short help.
    pub fn summary(&self) -> String {
        let text = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        match text.find(". ") {
            Some(end) => text[..=end].to_string(),
            None => text,
        }
    }

    /// `store_file`: the file key naming a file that holds a secret setting.
    pub fn file_key(&self) -> String {
        format!("{}_file", self.key)
    }

    /// `PORCH_STORE_FILE`: the variable naming a file that holds a secret setting.
    pub fn file_env(&self) -> String {
        format!("{}_FILE", self.env)
    }

    /// The default as `--help` shows it, in plain text.
    fn help_default(&self) -> String {
        format!(" [default: {}]", self.default.replace('`', ""))
    }
}

/// The row of `key`. Panics on a key not in the table: only the flags' definitions call it, so
/// a typo fails the first test that builds the command line.
pub fn row(key: &str) -> &'static SettingRow {
    SETTINGS.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("no setting `{key}`"))
}

/// The flag's short help: the first sentence and the default.
pub fn help(key: &str) -> String {
    let row = row(key);
    row.summary() + &row.help_default()
}

/// The flag's long help (`--help`): the whole doc and the default.
pub fn long_help(key: &str) -> String {
    let row = row(key);
    row.text() + &row.help_default()
}

/// Every setting, in the order `docs/config.md` and `porch config default` show them.
pub const SETTINGS: &[SettingRow] = &[
    SettingRow {
        key: "store",
        flag: "--store",
        env: "PORCH_STORE",
        default: "`sqlite`",
        toml_default: Some("\"sqlite\""),
        toml_example: "",
        secret: true,
        doc: "Where state lives: `sqlite` (the embedded store in `data_dir`) or a PostgreSQL URL \
              `postgres://user:password@host:5432/db`, shared by the nodes of a cluster.",
    },
    SettingRow {
        key: "broker",
        flag: "--broker",
        env: "PORCH_BROKER",
        default: "none",
        toml_default: None,
        toml_example: "\"nats://127.0.0.1:4222\"",
        secret: true,
        doc: "`nats://host:4222` (or `nats://user:password@host:4222`): the cluster's broker. \
              Without it, a node fans out in process only (a single node).",
    },
    SettingRow {
        key: "broker_subject",
        flag: "--broker-subject",
        env: "PORCH_BROKER_SUBJECT",
        default: "`porch.events`",
        toml_default: Some("\"porch.events\""),
        toml_example: "",
        secret: false,
        doc: "The NATS subject of this cluster. Two clusters on one NATS server need two subjects.",
    },
    SettingRow {
        key: "broker_ca_file",
        flag: "--broker-ca-file",
        env: "PORCH_BROKER_CA_FILE",
        default: "none",
        toml_default: None,
        toml_example: "\"/etc/porch/nats-ca.pem\"",
        secret: false,
        doc: "PEM file of the CA that signed the NATS server's certificate. With it, TLS to the \
              broker is required and the server's certificate is checked against it (and its \
              name against the broker URL's host).",
    },
    SettingRow {
        key: "broker_cert_file",
        flag: "--broker-cert-file",
        env: "PORCH_BROKER_CERT_FILE",
        default: "none",
        toml_default: None,
        toml_example: "\"/etc/porch/nats-client.pem\"",
        secret: false,
        doc: "PEM certificate this node presents to a NATS server that verifies clients \
              (`verify: true`), with `broker_key_file`.",
    },
    SettingRow {
        key: "broker_key_file",
        flag: "--broker-key-file",
        env: "PORCH_BROKER_KEY_FILE",
        default: "none",
        toml_default: None,
        toml_example: "\"/etc/porch/nats-client.key\"",
        secret: false,
        doc: "PEM private key of `broker_cert_file` (mode 0600: it is a key).",
    },
    SettingRow {
        key: "broker_user",
        flag: "--broker-user",
        env: "PORCH_BROKER_USER",
        default: "none",
        toml_default: None,
        toml_example: "\"porch\"",
        secret: false,
        doc: "The user NATS authenticates this node as, with `broker_password`.",
    },
    SettingRow {
        key: "broker_password",
        flag: "--broker-password",
        env: "PORCH_BROKER_PASSWORD",
        default: "none",
        toml_default: None,
        toml_example: "\"change-me\"",
        secret: true,
        doc: "The password of `broker_user`.",
    },
    SettingRow {
        key: "broker_token",
        flag: "--broker-token",
        env: "PORCH_BROKER_TOKEN",
        default: "none",
        toml_default: None,
        toml_example: "\"s3cr3t-token\"",
        secret: true,
        doc: "The token NATS authenticates this node with (`authorization { token: … }`), \
              instead of a user and password.",
    },
    SettingRow {
        key: "broker_nkey_file",
        flag: "--broker-nkey-file",
        env: "PORCH_BROKER_NKEY_FILE",
        default: "none",
        toml_default: None,
        toml_example: "\"/run/secrets/porch-nats.nk\"",
        secret: false,
        doc: "File holding the user nkey seed NATS authenticates this node with (one line \
              starting `SU`, as `nk -gen user` writes it; the server lists its public key in \
              `authorization { users: [{ nkey: U… }] }`). The seed is a secret: mode 0600, \
              never logged; a file others may read is warned about at start (root's file may \
              also be its group's, as a Kubernetes secret mounted for the pod's `fsGroup` is).",
    },
    SettingRow {
        key: "broker_creds_file",
        flag: "--broker-creds-file",
        env: "PORCH_BROKER_CREDS_FILE",
        default: "none",
        toml_default: None,
        toml_example: "\"/run/secrets/porch-nats.creds\"",
        secret: false,
        doc: "Credentials file (`.creds`: a user JWT and its seed, as `nsc generate creds` \
              writes it) for a NATS server in operator mode (decentralized JWT \
              authentication). Checked when the settings are read: a user JWT, not expired, \
              and the seed of that user. Mode 0600; a file others may read is warned about at \
              start (root's file may also be its group's, as with `broker_nkey_file`).",
    },
    SettingRow {
        key: "node_id",
        flag: "--node-id",
        env: "PORCH_NODE_ID",
        default: "a random `nod_…`",
        toml_default: None,
        toml_example: "\"node-1\"",
        secret: false,
        doc: "This node's name in logs, `/readyz` and broker events.",
    },
    SettingRow {
        key: "listen",
        flag: "--listen",
        env: "PORCH_LISTEN",
        default: "`127.0.0.1:8080`",
        toml_default: Some("\"127.0.0.1:8080\""),
        toml_example: "",
        secret: false,
        doc: "Address to listen on. In a container, `0.0.0.0:8080`.",
    },
    SettingRow {
        key: "metrics_listen",
        flag: "--metrics-listen",
        env: "PORCH_METRICS_LISTEN",
        default: "none (on `listen`)",
        toml_default: None,
        toml_example: "\"127.0.0.1:9090\"",
        secret: false,
        doc: "A second address, for the operator's network only, serving `/metrics`, `/livez` \
              and `/readyz` (for Prometheus and probes). With it, `/metrics` is served there \
              only and answers 404 on `listen`; health stays on both. The start line names it.",
    },
    SettingRow {
        key: "data_dir",
        flag: "--data-dir",
        env: "PORCH_DATA_DIR",
        default: "`./porch-data`",
        toml_default: Some("\"porch-data\""),
        toml_example: "",
        secret: false,
        doc: "Directory of the embedded store (`porch.db`, mode 0600, in a 0700 directory).",
    },
    SettingRow {
        key: "public_url",
        flag: "--public-url",
        env: "PORCH_PUBLIC_URL",
        default: "`http://<listen address>`",
        toml_default: None,
        toml_example: "\"https://chat.example.com\"",
        secret: false,
        doc: "The URL clients use to reach Porch. Behind a TLS proxy, set it to the proxy's \
              `https://` URL: `gatewayUrl` becomes `wss://…/api/v2/gateway`.",
    },
    SettingRow {
        key: "issuer",
        flag: "--issuer",
        env: "PORCH_ISSUER",
        default: "`porch`",
        toml_default: Some("\"porch\""),
        toml_example: "",
        secret: false,
        doc: "The `iss` claim of tokens. Tokens of another issuer are refused (`token_wrong_issuer`).",
    },
    SettingRow {
        key: "allow_query_token",
        flag: "--allow-query-token",
        env: "PORCH_ALLOW_QUERY_TOKEN",
        default: "`false`",
        toml_default: Some("false"),
        toml_example: "",
        secret: false,
        doc: "Accept `?access_token=` on the gateway URL. Tokens in URLs end up in proxy and \
              server logs (RFC 6750 §2.3); keep it off unless a client cannot offer subprotocols.",
    },
    SettingRow {
        key: "webhook_allow_http",
        flag: "--webhook-allow-http",
        env: "PORCH_WEBHOOK_ALLOW_HTTP",
        default: "`false`",
        toml_default: Some("false"),
        toml_example: "",
        secret: false,
        doc: "Lets webhook endpoints use `http://` ([webhooks.md](webhooks.md)). Deliveries then \
              cross the network in clear; for a receiver on the same host or a private network only.",
    },
    SettingRow {
        key: "webhook_allow_private_targets",
        flag: "--webhook-allow-private-targets",
        env: "PORCH_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        default: "`false`",
        toml_default: Some("false"),
        toml_example: "",
        secret: false,
        doc: "Lets webhook endpoints resolve to loopback, private (RFC 1918, RFC 6598, IPv6 unique \
              local) and link-local addresses. Refused by default, at registration and at every \
              connection, so a webhook cannot reach into the operator's own network (server-side \
              request forgery).",
    },
    SettingRow {
        key: "attachment_types",
        flag: "--attachment-type",
        env: "PORCH_ATTACHMENT_TYPES",
        default: "`image/png`, `image/jpeg`, `image/gif`, `image/webp`, `application/pdf`",
        toml_default: Some(
            "[\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\", \"application/pdf\"]",
        ),
        toml_example: "",
        secret: false,
        doc: "The content types guests and agents may attach (repeat the flag, or comma-separate \
              in the variable). A file's type is detected from its first bytes, never its name, \
              so each must be one Porch recognises: `image/png`, `image/jpeg`, `image/gif`, \
              `image/webp`, `application/pdf`, `application/zip` (docs/attachments.md).",
    },
    SettingRow {
        key: "trusted_proxies",
        flag: "--trusted-proxy",
        env: "PORCH_TRUSTED_PROXIES",
        default: "none",
        toml_default: None,
        toml_example: "[\"10.0.0.2\"]",
        secret: false,
        doc: "Addresses of load balancers or proxies in front of Porch (repeat the flag, or \
              comma-separate in the variable). A request from one is attributed to the nearest \
              address in `X-Forwarded-For` that is not itself a trusted proxy, for the \
              per-address limits below; their own TCP connections are not counted against \
              `connections_per_ip_max`. From any other peer, `X-Forwarded-For` is ignored (a \
              client could write anything there).",
    },
    SettingRow {
        key: "demo",
        flag: "--demo",
        env: "PORCH_DEMO",
        default: "`false`",
        toml_default: Some("false"),
        toml_example: "",
        secret: false,
        doc: "Creates a demo set-up (a deployment allowing this server's own origin, an OAuth \
              client with scopes `guests` and `notices`, an agent `demo-agent` on queue \
              `default`) in one commit and prints the secrets once, unless a deployment named \
              `demo` exists. For trying Porch, never for production: without it no credentials \
              are ever created. Nodes of a cluster started together with it create one set-up \
              between them.",
    },
    SettingRow {
        key: "conformance_echo",
        flag: "--conformance-echo",
        env: "PORCH_CONFORMANCE_ECHO",
        default: "`false`",
        toml_default: Some("false"),
        toml_example: "",
        secret: false,
        doc: "Mounts `/api/v2/conformance/echo`, an unauthenticated echo on the gateway's frame \
              layer, for the Autobahn TestSuite (docs/conformance.md). Refused unless `listen` is \
              a loopback address. Never in production.",
    },
    SettingRow {
        key: "sqlite_synchronous",
        flag: "--sqlite-synchronous",
        env: "PORCH_SQLITE_SYNCHRONOUS",
        default: "`full`",
        toml_default: Some("\"full\""),
        toml_example: "",
        secret: false,
        doc: "SQLite's `synchronous` mode. `full`: an acknowledged message survives power loss. \
              `normal`: it survives a crash of Porch, not of the machine.",
    },
    SettingRow {
        key: "postgres_pool_size",
        flag: "--postgres-pool-size",
        env: "PORCH_POSTGRES_POOL_SIZE",
        default: "`16`",
        toml_default: Some("16"),
        toml_example: "",
        secret: false,
        doc: "Connections each node keeps to PostgreSQL. The nodes of a cluster together must \
              stay under the server's `max_connections` (100 by default): six nodes of 16 already \
              take 96.",
    },
    SettingRow {
        key: "log_format",
        flag: "--log-format",
        env: "PORCH_LOG_FORMAT",
        default: "`text`",
        toml_default: Some("\"text\""),
        toml_example: "",
        secret: false,
        doc: "How the log is written. `text`: one line per event, for people (colour only when \
              stderr is a terminal and `NO_COLOR` is unset). `json`: one JSON object per line \
              (`timestamp`, `level`, `target`, `fields` with `message`), for log collectors. Both \
              on stderr; the level is `PORCH_LOG` (`info`; `debug`, `warn`, or per module: \
              `porch_server=debug`).",
    },
];

/// The settings section of `docs/config.md` (and of `porch config doc`).
pub fn markdown() -> String {
    let mut out = String::from(
        "| file key | flag | environment | default | meaning |\n|---|---|---|---|---|\n",
    );
    for row in SETTINGS {
        let (mut key, mut env) = (format!("`{}`", row.key), format!("`{}`", row.env));
        if row.secret {
            key.push_str(&format!(" or `{}`", row.file_key()));
            env.push_str(&format!(" or `{}`", row.file_env()));
        }
        let mut flag = format!("`{}`", row.flag);
        if row.key == "trusted_proxies" {
            flag.push_str(" (repeat)");
            env.push_str(" (comma-separated)");
        }
        out.push_str(&format!("| {key} | {flag} | {env} | {} | {} |\n", row.default, row.text()));
    }
    out
}
