//! `porch config check|default|doc`: the configuration, checked without opening the store,
//! written out as a complete commented file, and documented, all from the two tables
//! (`settings::table::SETTINGS`, `porch_core::limits::ROWS`).

use anyhow::Result;
use clap::Subcommand;
use porch_core::limits::{Limits, ROWS};

use crate::settings::table::{self, SETTINGS};
use crate::settings::{ServeArgs, Settings};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration `porch serve` would use (the file, PORCH_* variables, and the
    /// flags given here, which are serve's) without opening the store or listening. Prints the
    /// resulting settings, or every problem with its fix (exit status 2).
    Check(Box<ServeArgs>),
    /// Print a complete configuration file: every setting and limit with its documentation,
    /// commented out at its default. `porch config default > /etc/porch/porch.toml`.
    Default,
    /// Print the reference of every setting and limit in Markdown (docs/config.md holds the
    /// same tables).
    Doc,
}

pub fn run(command: ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Check(args) => check(&args),
        ConfigCommand::Default => {
            print!("{}", default_file());
            Ok(())
        }
        ConfigCommand::Doc => {
            print!("{}", reference());
            Ok(())
        }
    }
}

fn check(args: &ServeArgs) -> Result<()> {
    match Settings::resolve_all(args) {
        Ok(settings) => {
            let source = match &args.store.config {
                Some(path) => format!("{}, PORCH_* variables and flags", path.display()),
                None => "no config file; PORCH_* variables and flags".to_string(),
            };
            println!("configuration OK ({source}); porch serve would use:");
            print!("{}", effective(&settings));
            Ok(())
        }
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
            anyhow::bail!(
                "the configuration has {} problem(s):\n{}",
                problems.len(),
                list.join("\n")
            )
        }
    }
}

/// The resolved settings as `key = value` lines; secrets are named, never shown.
fn effective(settings: &Settings) -> String {
    let shown = |secret: &Option<String>| match secret {
        Some(_) => "(set; a secret, not shown)".to_string(),
        None => "none".to_string(),
    };
    let store = match crate::settings::store_kind(settings.store.as_deref()) {
        Ok(crate::settings::StoreKind::Sqlite) => "sqlite".to_string(),
        _ => format!("PostgreSQL {}", shown(&settings.store)),
    };
    let lines = [
        ("store", store),
        ("broker", shown(&settings.broker)),
        ("broker_subject", settings.broker_subject.clone()),
        ("broker_auth", settings.broker_access.way()),
        ("node_id", settings.node_id.clone()),
        ("listen", settings.listen.to_string()),
        ("data_dir", settings.data_dir.display().to_string()),
        (
            "public_url",
            settings.public_url.clone().unwrap_or_else(|| "http://<listen address>".into()),
        ),
        ("issuer", settings.issuer.clone()),
        ("allow_query_token", settings.allow_query_token.to_string()),
        ("webhook_allow_http", settings.webhook_targets.allow_http.to_string()),
        ("webhook_allow_private_targets", settings.webhook_targets.allow_private.to_string()),
        ("trusted_proxies", format!("{:?}", settings.trusted_proxies)),
        ("attachment_types", settings.attachment_types.join(",")),
        ("demo", settings.demo.to_string()),
        ("conformance_echo", settings.conformance_echo.to_string()),
        ("sqlite_synchronous", format!("{:?}", settings.sqlite_synchronous).to_lowercase()),
        ("postgres_pool_size", settings.postgres_pool_size.to_string()),
        ("log_format", format!("{:?}", settings.log_format).to_lowercase()),
    ];
    let mut out: String = lines.iter().map(|(key, value)| format!("{key} = {value}\n")).collect();
    let changed = changed_limits(&settings.limits);
    if changed.is_empty() {
        out.push_str("limits: every one at its default\n");
    } else {
        out.push_str(&format!("limits changed from their defaults: {}\n", changed.join(", ")));
    }
    if !settings.connections_max_set {
        out.push_str(
            "connections_max: follows the open-file limit at start (see the start line)\n",
        );
    }
    out
}

/// `name = value` of each limit that differs from its default.
fn changed_limits(limits: &Limits) -> Vec<String> {
    let values = serde_json::to_value(limits).unwrap_or_default();
    ROWS.iter()
        .filter_map(|row| {
            let setting = row.setting?;
            let value = values.get(setting)?.as_u64()?;
            (value != row.default).then(|| format!("{setting} = {value}"))
        })
        .collect()
}

/// `text` as comment lines of at most `COMMENT_COLUMNS` columns.
fn comment(text: &str) -> String {
    const COMMENT_COLUMNS: usize = 96;
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > COMMENT_COLUMNS && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `porch config default`: every setting and limit, documented, commented out at its default
/// (or at an example, for a setting without one). Uncommenting any line gives a valid file.
pub fn default_file() -> String {
    let mut out = comment(&format!(
        "Porch's configuration file, written by `porch config default` (porch {}). Every setting \
         and limit is here with its documentation, commented out at its default (or at an \
         example where there is none): uncomment what you change. PORCH_* variables override \
         this file, and flags override both. Check a file with `porch config check --config FILE`.",
        env!("CARGO_PKG_VERSION")
    ));
    for row in SETTINGS {
        out.push('\n');
        out.push_str(&comment(&row.text()));
        let default = match row.toml_default {
            Some(_) => format!("default: {}.", row.default),
            None => format!("default: {}; the line below is an example.", row.default),
        };
        out.push_str(&comment(&format!("Flag {}, variable {}; {default}", row.flag, row.env)));
        out.push_str(&format!("#{} = {}\n", row.key, row.toml_default.unwrap_or(row.toml_example)));
    }
    out.push_str("\n[limits]\n");
    for row in ROWS {
        let Some(setting) = row.setting else { continue };
        out.push('\n');
        out.push_str(&comment(&format!("{} Unit: {}.", row.text(), row.unit)));
        out.push_str(&format!("#{setting} = {}\n", row.default));
    }
    out
}

/// Marks the settings section in `docs/config.md` and in `porch config doc`.
pub const SETTINGS_BEGIN: &str = "<!-- settings: written from crates/porch/src/settings/table.rs; PORCH_UPDATE_DOCS=1 rewrites it -->\n";
pub const SETTINGS_END: &str = "<!-- end of settings -->";
/// Marks the limits section, likewise.
pub const LIMITS_BEGIN: &str = "<!-- limits: written from crates/porch-core/src/limits.rs; PORCH_UPDATE_DOCS=1 rewrites it -->\n";
pub const LIMITS_END: &str = "<!-- end of limits -->";

/// `porch config doc`: both tables in Markdown, in the marked sections docs/config.md holds.
pub fn reference() -> String {
    format!(
        "# Porch {} configuration reference\n\n\
         Precedence, lowest first: built-in defaults, the TOML file (`--config FILE` or \
         `PORCH_CONFIG`), `PORCH_*` variables, flags.\n\n\
         ## Settings\n\n{SETTINGS_BEGIN}{}{SETTINGS_END}\n\n\
         ## Limits\n\nIn the TOML file under `[limits]`.\n\n{LIMITS_BEGIN}{}{LIMITS_END}\n",
        env!("CARGO_PKG_VERSION"),
        table::markdown(),
        porch_core::limits::markdown_reference(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory;

    use super::*;
    use crate::settings::FileSettings;

    /// Every flag of `porch serve` is a row of the settings or the limits table, with the
    /// row's variable, and every row is a flag.
    #[test]
    fn the_settings_table_is_the_flags_of_serve() {
        let cli = crate::Cli::command();
        let serve = cli.find_subcommand("serve").expect("serve");
        let limits: BTreeSet<&str> = ROWS.iter().filter_map(|r| r.setting).collect();
        let flags: BTreeSet<(String, String)> = serve
            .get_arguments()
            .filter(|a| !limits.contains(a.get_id().as_str()) && a.get_id().as_str() != "config")
            .filter_map(|a| {
                let env = a.get_env()?.to_str()?.to_string();
                Some((format!("--{}", a.get_long()?), env))
            })
            .collect();
        let rows: BTreeSet<(String, String)> =
            SETTINGS.iter().map(|r| (r.flag.to_string(), r.env.to_string())).collect();
        assert_eq!(flags, rows);
    }

    /// Every key the file accepts is a row (or a secret row's `_file` key), and back.
    #[test]
    fn the_settings_table_is_the_keys_of_the_file() {
        let value = serde_json::to_value(FileSettings::default()).unwrap();
        let keys: BTreeSet<String> =
            value.as_object().unwrap().keys().filter(|k| *k != "limits").cloned().collect();
        let mut rows: BTreeSet<String> = SETTINGS.iter().map(|r| r.key.to_string()).collect();
        rows.extend(SETTINGS.iter().filter(|r| r.secret).map(|r| r.file_key()));
        assert_eq!(keys, rows);
    }

    #[test]
    fn the_default_file_is_valid_commented_and_uncommented() {
        let text = default_file();
        let commented: FileSettings = toml::from_str(&text).unwrap();
        assert_eq!(commented.limits, Limits::default());
        assert!(commented.listen.is_none(), "every setting is commented out");
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix('#').filter(|rest| !rest.starts_with(' ')).unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        let file: FileSettings =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(file.limits, Limits::default(), "each limit at its default");
        assert_eq!(file.listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(file.broker.as_deref(), Some("nats://127.0.0.1:4222"), "an example");
        for row in SETTINGS {
            assert!(text.contains(&format!("\n#{} = ", row.key)), "{} is in the file", row.key);
        }
    }

    #[test]
    fn the_reference_holds_both_tables_in_their_sections() {
        let doc = reference();
        let settings = doc.split_once(SETTINGS_BEGIN).unwrap().1.split_once(SETTINGS_END).unwrap();
        assert_eq!(settings.0, table::markdown());
        let limits = doc.split_once(LIMITS_BEGIN).unwrap().1.split_once(LIMITS_END).unwrap();
        assert_eq!(limits.0, porch_core::limits::markdown_reference());
        assert!(settings.0.contains("`store` or `store_file`"));
    }
}
