//! Secret settings read from files: `PORCH_STORE_FILE=/run/secrets/store` or
//! `store_file = "…"` in the TOML file, as Docker and Kubernetes mount secrets, so a password
//! never sits in a command line, the environment of a process listing, or a world-readable
//! file.
//!
//! Precedence is the usual one, the file variant standing beside its plain setting at each
//! level: the flag, then the variable or its `_FILE` variable, then the TOML key or its `_file`
//! key. Both forms at one level is a mistake (which one was meant?), refused with the fix.

use std::path::Path;

use super::table::SettingRow;

/// Where each level's value came from, for one secret setting.
pub struct SecretSources<'a> {
    /// The flag or the variable (clap merges the two; the flag wins).
    pub given: Option<&'a str>,
    /// The `_FILE` variable's value, if set.
    pub env_file: Option<&'a str>,
    /// Whether the plain variable is set (so the flag did not give `given`).
    pub env_set: bool,
    /// The TOML key.
    pub toml: Option<&'a str>,
    /// The TOML `_file` key.
    pub toml_file: Option<&'a Path>,
}

/// The secret's value, or a message naming the cause and the fix.
pub fn resolve(row: &SettingRow, sources: &SecretSources) -> Result<Option<String>, String> {
    if sources.env_set && sources.env_file.is_some() {
        return Err(format!(
            "{} and {} are both set: keep one (the _FILE variant names a file holding the value)",
            row.env,
            row.file_env()
        ));
    }
    if let Some(value) = sources.given {
        return Ok(Some(value.to_string()));
    }
    if let Some(path) = sources.env_file {
        return read(Path::new(path), &row.file_env()).map(Some);
    }
    match (sources.toml, sources.toml_file) {
        (Some(_), Some(_)) => Err(format!(
            "the config file sets both `{}` and `{}`: keep one",
            row.key,
            row.file_key()
        )),
        (Some(value), None) => Ok(Some(value.to_string())),
        (None, Some(path)) => read(path, &row.file_key()).map(Some),
        (None, None) => Ok(None),
    }
}

/// The file's content without its trailing newline (as `echo` and editors leave one). The
/// content is never quoted in an error: it is a secret.
fn read(path: &Path, setting: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{setting} names {}, which cannot be read ({e}): point it at a readable file holding the value",
            path.display()
        )
    })?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(format!(
            "{setting} names {}, which is empty: write the value into it",
            path.display()
        ));
    }
    Ok(value.to_string())
}

/// The variable's value, when set and not empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::table::row;

    fn sources() -> SecretSources<'static> {
        SecretSources { given: None, env_file: None, env_set: false, toml: None, toml_file: None }
    }

    #[test]
    fn each_level_wins_over_the_next_and_files_are_read() {
        let dir = std::env::temp_dir().join(porch_core::ids::new_id("sec"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("store");
        std::fs::write(&file, "postgres://porch:pw@db/porch\n").unwrap();
        let file_str = file.to_str().unwrap();
        let store = row("store");
        let flag = SecretSources { given: Some("sqlite"), env_file: Some(file_str), ..sources() };
        assert_eq!(resolve(store, &flag).unwrap().as_deref(), Some("sqlite"), "the flag wins");
        let env_file = SecretSources { env_file: Some(file_str), toml: Some("x"), ..sources() };
        assert_eq!(
            resolve(store, &env_file).unwrap().as_deref(),
            Some("postgres://porch:pw@db/porch"),
            "the file's value without its newline, over the TOML key"
        );
        let toml_file = SecretSources { toml_file: Some(&file), ..sources() };
        assert!(resolve(store, &toml_file).unwrap().unwrap().ends_with("/porch"));
        assert_eq!(resolve(store, &sources()).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ambiguous_or_unreadable_sources_name_the_fix_and_never_the_secret() {
        let store = row("store");
        let both_env = SecretSources { env_set: true, env_file: Some("/x"), ..sources() };
        let err = resolve(store, &both_env).unwrap_err();
        assert!(err.contains("PORCH_STORE and PORCH_STORE_FILE") && err.contains("keep one"));
        let both_toml = SecretSources {
            toml: Some("postgres://a:pw@b/c"),
            toml_file: Some(Path::new("/x")),
            ..sources()
        };
        let err = resolve(store, &both_toml).unwrap_err();
        assert!(err.contains("`store` and `store_file`") && !err.contains("pw"), "{err}");
        let missing = SecretSources { env_file: Some("/nonexistent/porch-store"), ..sources() };
        let err = resolve(store, &missing).unwrap_err();
        assert!(err.contains("PORCH_STORE_FILE names /nonexistent/porch-store"), "{err}");
        assert!(err.contains("readable file"), "{err}");
    }
}
