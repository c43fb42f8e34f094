//! A node's NATS nkey seed (`broker_nkey_file`) and credentials file (`broker_creds_file`: a
//! user JWT and its seed, for a server in operator mode), read and checked before any
//! connection (docs/deploy.md, "NATS nkeys and credentials files"). A missing, unreadable or
//! malformed file is named with its fix; a seed is never shown, not even in part.

use std::path::Path;

use base64::Engine;

const NKEY_FIX: &str = "give a file holding only this node's user seed (one line starting `SU`, as `nk -gen user` writes it)";
const CREDS_FIX: &str = "give the file `nsc generate creds` wrote for this node's user (its JWT and its seed, each between BEGIN and END lines)";

/// The user seed in `path`, checked: what async-nats signs the server's nonce with. The seed is
/// the file's first line; a second (the public key `nk -gen user -pubout` prints) is ignored.
pub fn read_seed(path: &Path) -> Result<String, String> {
    let problem = |why: String| format!("broker_nkey_file {}: {why}; {NKEY_FIX}", path.display());
    let text = read(path).map_err(problem)?;
    if block(&text, "JWT").is_some() {
        return Err(problem("a credentials file, not a seed: give it as broker_creds_file".into()));
    }
    let seed = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or_default();
    user_public_key(seed).map_err(problem)?;
    Ok(seed.to_string())
}

/// The text of the credentials file at `path`, checked: a user JWT, not expired, and the seed
/// of that same user.
pub fn read_creds(path: &Path) -> Result<String, String> {
    let problem = |why: String| format!("broker_creds_file {}: {why}; {CREDS_FIX}", path.display());
    let text = read(path).map_err(problem)?;
    let jwt = block(&text, "JWT").ok_or_else(|| problem("no user JWT block".into()))?;
    let seed = block(&text, "SEED").ok_or_else(|| problem("no nkey seed block".into()))?;
    let public_key = user_public_key(seed).map_err(problem)?;
    check_user_jwt(jwt, &public_key).map_err(problem)?;
    Ok(text)
}

/// A warning when a file holding a seed may be read by others than its owner, or, when root
/// owns it, by others than its owner and its group. The exception is PostgreSQL's rule for
/// its server key, and what Kubernetes makes of a secret mounted for a pod's `fsGroup`: root's
/// file, mode 0440, readable by the pod's group (docs/deploy.md); it is not a loose file.
#[cfg(unix)]
pub fn loose_mode(setting: &str, path: &Path) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let metadata = std::fs::metadata(path).ok()?;
    let mode = metadata.permissions().mode() & 0o777;
    let allowed = if metadata.uid() == 0 { 0o740 } else { 0o700 };
    (mode & !allowed != 0).then(|| {
        format!(
            "{setting} {} holds a secret seed but others may read it (mode {mode:o}): chmod 600 it",
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub fn loose_mode(_setting: &str, _path: &Path) -> Option<String> {
    None
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "this user may not read it".to_string(),
        _ => format!("cannot be read ({e})"),
    })
}

/// The public key (`U…`) of a user seed; the error names the problem, never the seed.
fn user_public_key(seed: &str) -> Result<String, String> {
    let pair =
        nkeys::KeyPair::from_seed(seed).map_err(|e| format!("not an nkey seed ({})", e.kind()))?;
    let public_key = pair.public_key();
    match public_key.chars().next() {
        Some('U') => Ok(public_key),
        Some('A') => Err("an account's seed (`SA…`), not a user's".into()),
        Some('O') => Err("an operator's seed (`SO…`), not a user's".into()),
        _ => Err("a seed, but not a user's".into()),
    }
}

/// The first line between the `-----BEGIN … {kind}-----` line and its END line, as the NATS
/// tools write it (`-----BEGIN NATS USER JWT-----`, `-----BEGIN USER NKEY SEED-----`).
fn block<'a>(text: &'a str, kind: &str) -> Option<&'a str> {
    let mut lines = text.lines().map(str::trim);
    lines.find(|line| line.starts_with("---") && line.contains("BEGIN") && line.contains(kind))?;
    lines.find(|line| !line.is_empty()).filter(|line| !line.starts_with("---"))
}

/// A user JWT (NATS JWT v2: `nats.type` is `user`) whose subject is `public_key` and that has
/// not expired. Its signature is the server's to check: it knows the account's keys.
fn check_user_jwt(jwt: &str, public_key: &str) -> Result<(), String> {
    let payload = jwt.split('.').nth(1).ok_or("the JWT is not three dot-separated parts")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the JWT's claims are not base64url")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "the JWT's claims are not JSON")?;
    if claims["nats"]["type"] != "user" {
        return Err(format!("the JWT is not a user's (type {})", claims["nats"]["type"]));
    }
    if claims["sub"] != public_key {
        return Err(format!(
            "the JWT is of user {}, the seed of user {public_key}: they must be one user's",
            claims["sub"]
        ));
    }
    if let Some(exp) = claims["exp"].as_u64() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        if now.is_ok_and(|now| now.as_secs() >= exp) {
            return Err(format!("the user JWT expired (exp {exp}, Unix seconds)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let part = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!("{}.{}.c2ln", part(&serde_json::json!({"typ": "JWT"})), part(&claims))
    }

    fn creds(jwt: &str, seed: &str) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n*** IMPORTANT ***\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        )
    }

    #[test]
    fn blocks_are_found_by_kind_and_seeds_by_role() {
        let user = nkeys::KeyPair::new_user();
        let seed = user.seed().unwrap();
        let text = creds("a.b.c", &seed);
        assert_eq!(block(&text, "JWT"), Some("a.b.c"));
        assert_eq!(block(&text, "SEED"), Some(seed.as_str()));
        assert_eq!(user_public_key(&seed), Ok(user.public_key()));
        let account = nkeys::KeyPair::new_account().seed().unwrap();
        assert!(user_public_key(&account).unwrap_err().contains("account"));
        let broken = user_public_key("SUAB").unwrap_err();
        assert!(broken.starts_with("not an nkey seed") && !broken.contains("SUAB"), "{broken}");
    }

    #[test]
    fn a_user_jwt_must_be_the_seeds_user_and_current() {
        let user = nkeys::KeyPair::new_user();
        let key = user.public_key();
        let good = jwt(serde_json::json!({"sub": key, "nats": {"type": "user"}}));
        assert_eq!(check_user_jwt(&good, &key), Ok(()));
        let other = nkeys::KeyPair::new_user().public_key();
        assert!(check_user_jwt(&good, &other).unwrap_err().contains("one user's"));
        let expired = jwt(serde_json::json!({"sub": key, "exp": 1, "nats": {"type": "user"}}));
        assert!(check_user_jwt(&expired, &key).unwrap_err().contains("expired"));
        let account = jwt(serde_json::json!({"sub": key, "nats": {"type": "account"}}));
        assert!(check_user_jwt(&account, &key).unwrap_err().contains("not a user's"));
        assert!(check_user_jwt("nope", &key).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_seed_file_is_its_owners_and_only_roots_may_be_its_groups_too() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let path = std::env::temp_dir().join(format!("porch-seed-mode-{}", std::process::id()));
        std::fs::write(&path, "SU").unwrap();
        let chmod =
            |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let roots = std::fs::metadata(&path).unwrap().uid() == 0;
        chmod(0o600);
        assert_eq!(loose_mode("broker_nkey_file", &path), None);
        chmod(0o644);
        let warning = loose_mode("broker_nkey_file", &path).expect("others may read it");
        assert!(warning.contains("mode 644") && warning.contains("chmod 600"), "{warning}");
        chmod(0o440);
        assert_eq!(loose_mode("broker_nkey_file", &path).is_none(), roots, "fsGroup's 0440");
        if roots {
            std::os::unix::fs::chown(&path, Some(65_532), None).unwrap();
            assert!(loose_mode("broker_nkey_file", &path).is_some(), "not root's: owner only");
        }
        std::fs::remove_file(&path).unwrap();
    }
}
