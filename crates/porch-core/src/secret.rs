//! Client and agent secrets: generated here, shown once, stored as Argon2id hashes.
//!
//! Argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): a stolen database
//! does not give the secrets away, and `verify` compares in constant time. It costs tens of
//! milliseconds per check, which is why the token endpoint issues tokens that last an hour
//! rather than checking a secret per request.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a secret into a PHC string (`$argon2id$v=19$...`).
pub fn hash(secret: &str) -> String {
    let salt_bytes = crate::ids::random_bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .expect("hashing with valid params succeeds")
        .to_string()
}

/// True when `secret` matches `phc`. A malformed stored hash never matches.
pub fn verify(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(secret.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Like `verify`, but for a record that may not exist: without a hash it checks against a
/// throwaway one, so an unknown name costs as long as a wrong secret and timing does not tell
/// which names exist.
pub fn verify_maybe(secret: &str, phc: Option<&str>) -> bool {
    static THROWAWAY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match phc {
        Some(phc) => verify(secret, phc),
        None => {
            let throwaway = THROWAWAY.get_or_init(|| hash(&crate::ids::new_secret("sec")));
            let _ = verify(secret, throwaway);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_matches_its_hash_and_nothing_else() {
        let phc = super::hash("sec_abc");
        assert!(phc.starts_with("$argon2id$"));
        assert!(super::verify("sec_abc", &phc));
        assert!(!super::verify("sec_abd", &phc));
        assert!(!super::verify("sec_abc", "not a hash"));
        assert!(super::verify_maybe("sec_abc", Some(&phc)));
        assert!(!super::verify_maybe("sec_abc", None));
    }
}
