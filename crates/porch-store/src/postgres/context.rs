//! A guest's visitor context (`porch_wire::rest::VisitorContext`), JSON text in
//! `guests.context`; each access is one statement.

use porch_core::store::StoreError;
use porch_wire::rest::VisitorContext;

use super::pool::Db;
use super::reads::all;
use super::rows::Context;
use crate::rows::visitor_context;

pub(crate) async fn set(
    db: &Db,
    guest_id: &str,
    context: &VisitorContext,
) -> Result<bool, StoreError> {
    let doing = format!("keeping guest {guest_id}'s visitor context");
    let json = serde_json::to_string(context).expect("a visitor context serializes");
    let client = db.client().await?;
    let statement = client
        .prepare_cached("UPDATE guests SET context = $2 WHERE id = $1")
        .await
        .context(&doing)?;
    Ok(client.execute(&statement, &[&guest_id, &json]).await.context(&doing)? == 1)
}

pub(crate) async fn get(db: &Db, guest_id: &str) -> Result<Option<VisitorContext>, StoreError> {
    let sql = "SELECT context FROM guests WHERE id = $1";
    let doing = format!("reading guest {guest_id}'s visitor context");
    let found = all(db, sql, &[&guest_id], visitor_context, &doing).await?;
    Ok(found.into_iter().next().flatten())
}
