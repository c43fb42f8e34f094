//! `porch agents|clients reset-secret|disable|enable|delete`: an operator's hold on the credentials
//! of an agent (named by its login name) or an OAuth client (by its id). The store is the
//! truth every node reads at each use of a token, so the change holds on every node at once.

use anyhow::Result;
use porch_core::store::Account;
use porch_server::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

fn noun(account: Account) -> &'static str {
    match account {
        Account::Agent => "agent",
        Account::Client => "client",
    }
}

pub async fn reset_secret(
    account: Account,
    key: &str,
    json: bool,
    store: &StoreArgs,
) -> Result<()> {
    let store = open_store(store).await?;
    let reset =
        admin::reset_secret(store.as_ref(), account, key).await.map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", json!({ "id": reset.record, "secret": reset.secret }));
    } else {
        println!(
            "{} {}: new secret {}  (shown once)\nthe old secret and every token issued before now are refused (token_revoked)",
            noun(account),
            reset.record,
            reset.secret
        );
    }
    Ok(())
}

pub async fn set_enabled(
    account: Account,
    key: &str,
    enabled: bool,
    store: &StoreArgs,
) -> Result<()> {
    let store = open_store(store).await?;
    let id = admin::set_enabled(store.as_ref(), account, key, enabled)
        .await
        .map_err(anyhow::Error::msg)?;
    let noun = noun(account);
    if enabled {
        println!("{noun} {id} enabled: its secret and unexpired tokens work again");
    } else {
        println!("{noun} {id} disabled: its sign-in and every token are refused ({noun}_disabled)");
    }
    Ok(())
}

pub async fn delete(account: Account, key: &str, store: &StoreArgs) -> Result<()> {
    let store = open_store(store).await?;
    let id = admin::delete(store.as_ref(), account, key).await.map_err(anyhow::Error::msg)?;
    println!("{} {id} deleted: its secret and tokens are refused from now on", noun(account));
    Ok(())
}
