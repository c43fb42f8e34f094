//! Identity keys and used identity-token jtis (issue 20). Writes run on the writer thread, in
//! the batch's transaction and their own savepoint; reads on the reader pool.

use porch_core::identity::IdentityKey;
use porch_core::store::StoreError;
use rusqlite::{Connection, params};

use super::rows::{
    self, Context, IDENTIFY_GUEST_SQL, IDENTITY_KEY_COLUMNS, PRUNE_JTIS_SQL, USE_JTI_SQL,
};

pub(crate) fn add_key(conn: &Connection, key: &IdentityKey) -> Result<(), StoreError> {
    // Race-free: the batch holds the file's write lock.
    let taken = conn
        .prepare_cached("SELECT 1 FROM identity_keys WHERE kid = ?1")
        .and_then(|mut s| s.exists([&key.kid]))
        .context(&format!("checking identity key {}", key.kid))?;
    if taken {
        return Err(StoreError::NameTaken(format!(
            "an identity key with kid `{}` already exists",
            key.kid
        )));
    }
    conn.prepare_cached(
        "INSERT INTO identity_keys (kid, deployment_id, algorithm, material, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            key.kid,
            key.deployment_id,
            key.algorithm.as_str(),
            key.material,
            key.created_at_ms
        ])
    })
    .context(&format!("adding identity key {}", key.kid))?;
    Ok(())
}

pub(crate) fn remove_key(conn: &Connection, kid: &str) -> Result<bool, StoreError> {
    let removed = conn
        .prepare_cached("DELETE FROM identity_keys WHERE kid = ?1")
        .and_then(|mut s| s.execute([kid]))
        .context(&format!("removing identity key {kid}"))?;
    Ok(removed == 1)
}

pub(crate) fn use_jti(
    conn: &Connection,
    deployment_id: &str,
    jti: &str,
    guest_id: Option<&str>,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let doing = "recording an identity token's jti";
    conn.prepare_cached(PRUNE_JTIS_SQL).and_then(|mut s| s.execute([now_ms])).context(doing)?;
    let changed = conn
        .prepare_cached(USE_JTI_SQL)
        .and_then(|mut s| s.execute(params![deployment_id, jti, expires_at_ms, now_ms, guest_id]))
        .context(doing)?;
    Ok(changed == 1)
}

pub(crate) fn identify_guest(
    conn: &Connection,
    guest_id: &str,
    external_id: &str,
    display_name: Option<&str>,
    email: Option<&str>,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(IDENTIFY_GUEST_SQL)
        .and_then(|mut s| s.execute(params![guest_id, external_id, display_name, email]))
        .context(&format!("identifying guest {guest_id}"))?;
    Ok(changed == 1)
}

pub(crate) fn keys(conn: &Connection, deployment_id: &str) -> Result<Vec<IdentityKey>, StoreError> {
    let sql = format!(
        "SELECT {IDENTITY_KEY_COLUMNS} FROM identity_keys WHERE deployment_id = ?1 \
         ORDER BY created_at_ms, kid"
    );
    rows::all(conn, &sql, [deployment_id], rows::identity_key, "listing identity keys")
}
