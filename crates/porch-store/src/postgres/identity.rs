//! Identity keys and used identity-token jtis (issue 20). Each is one statement; a jti's
//! first use is decided by its primary key, so two nodes presenting one jti at once cannot both
//! be told "first".

use porch_core::identity::IdentityKey;
use porch_core::store::StoreError;
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::{
    self, Context, IDENTIFY_GUEST_SQL, IDENTITY_KEY_COLUMNS, PRUNE_JTIS_SQL, USE_JTI_SQL,
    pg_placeholders, violates,
};

pub(crate) async fn add_key(db: &Db, key: &IdentityKey) -> Result<(), StoreError> {
    let doing = format!("adding identity key {}", key.kid);
    let sql = "INSERT INTO identity_keys (kid, deployment_id, algorithm, material, created_at_ms) \
               VALUES ($1, $2, $3, $4, $5)";
    let algorithm = key.algorithm.as_str();
    let params: &[&(dyn ToSql + Sync)] =
        &[&key.kid, &key.deployment_id, &algorithm, &key.material, &key.created_at_ms];
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    match client.execute(&statement, params).await {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, "identity_keys_kid_unique") => Err(StoreError::NameTaken(format!(
            "an identity key with kid `{}` already exists",
            key.kid
        ))),
        Err(e) => Err(e).context(&doing),
    }
}

pub(crate) async fn remove_key(db: &Db, kid: &str) -> Result<bool, StoreError> {
    let doing = format!("removing identity key {kid}");
    let client = db.client().await?;
    let statement =
        client.prepare_cached("DELETE FROM identity_keys WHERE kid = $1").await.context(&doing)?;
    Ok(client.execute(&statement, &[&kid]).await.context(&doing)? == 1)
}

pub(crate) async fn use_jti(
    db: &Db,
    deployment_id: &str,
    jti: &str,
    guest_id: Option<&str>,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let doing = "recording an identity token's jti";
    let client = db.client().await?;
    // Pruning is housekeeping: it never decides a replay, so it is its own statement and a
    // failure of it does not refuse the token.
    let prune = client.prepare_cached(&pg_placeholders(PRUNE_JTIS_SQL)).await.context(doing)?;
    if let Err(e) = client.execute(&prune, &[&now_ms]).await {
        tracing::debug!("could not forget expired identity jtis: {e}");
    }
    let statement = client.prepare_cached(&pg_placeholders(USE_JTI_SQL)).await.context(doing)?;
    let params: &[&(dyn ToSql + Sync)] =
        &[&deployment_id, &jti, &expires_at_ms, &now_ms, &guest_id];
    Ok(client.execute(&statement, params).await.context(doing)? == 1)
}

pub(crate) async fn identify_guest(
    db: &Db,
    guest_id: &str,
    external_id: &str,
    display_name: Option<&str>,
    email: Option<&str>,
) -> Result<bool, StoreError> {
    let doing = format!("identifying guest {guest_id}");
    let client = db.client().await?;
    let sql = pg_placeholders(IDENTIFY_GUEST_SQL);
    let statement = client.prepare_cached(&sql).await.context(&doing)?;
    let params: &[&(dyn ToSql + Sync)] = &[&guest_id, &external_id, &display_name, &email];
    Ok(client.execute(&statement, params).await.context(&doing)? == 1)
}

pub(crate) async fn keys(db: &Db, deployment_id: &str) -> Result<Vec<IdentityKey>, StoreError> {
    let doing = "listing identity keys";
    let sql = format!(
        "SELECT {IDENTITY_KEY_COLUMNS} FROM identity_keys WHERE deployment_id = $1 \
         ORDER BY created_at_ms, kid COLLATE \"C\""
    );
    let client = db.client().await?;
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query(&statement, &[&deployment_id]).await.context(doing)?;
    found.iter().map(|row| rows::identity_key(row)).collect()
}
