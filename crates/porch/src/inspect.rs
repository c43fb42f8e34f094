//! `porch token inspect <jwt>`: decode a token offline, trusting nothing in it, and say
//! what it is, who it is for and when it expires, against the local clock.

use anyhow::Result;
use clap::Subcommand;
use porch_core::time::{now_ms, rfc3339};
use porch_core::token::{TokenKind, decode_unverified};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Decode a token without verifying it: header, claims, kind and expiry.
    Inspect {
        /// The token (a JWT). Use `-` to read it from standard input, keeping it out of
        /// your shell history.
        token: String,
    },
}

pub fn run(command: TokenCommand) -> Result<()> {
    let TokenCommand::Inspect { token } = command;
    let token = if token == "-" {
        let mut s = String::new();
        std::io::stdin().read_line(&mut s)?;
        s.trim().to_string()
    } else {
        token
    };
    let (header, claims) = decode_unverified(&token).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("header  {}", serde_json::to_string(&header)?);
    println!("claims  {}", serde_json::to_string_pretty(&claims)?);
    let aud = claims.get("aud").and_then(|a| a.as_str()).unwrap_or("");
    match TokenKind::from_audience(aud) {
        Some(kind) => println!("kind    {}", kind.describe()),
        None => println!("kind    unknown audience `{aud}`: not a token Porch issued"),
    }
    if let Some(exp) = claims.get("exp").and_then(|e| e.as_i64()) {
        let now = now_ms() / 1000;
        let when = if exp < now {
            format!("expired {}s ago", now - exp)
        } else {
            format!("valid for {}s more", exp - now)
        };
        println!("expires {} ({when}, local clock {})", rfc3339(exp), rfc3339(now));
    }
    println!("note    the signature was not checked: only a Porch server can verify it");
    Ok(())
}
