//! What the flags say: the URLs to use, the handshake to replay, and the token wherever the
//! integrator put it (flag, standard input, URL or offer).

use std::io::Read;

use anyhow::{Context as _, Result, bail};
use porch_wire::PROTOCOL_MARKER;

use super::DoctorArgs;

/// The handshake of mode 1, resolved from the flags.
pub struct Call {
    pub url: String,
    /// The token to examine: from `--token`, else the URL, else the offer.
    pub token: Option<String>,
    /// The `Sec-WebSocket-Protocol` value to send, if any.
    pub offer: Option<String>,
    /// Every token-like value in the flags, to redact.
    pub secrets: Vec<String>,
}

impl Call {
    pub fn from_args(args: &DoctorArgs) -> Result<Call> {
        let url = gateway_url(args.gateway_url.as_deref().unwrap_or_default())?;
        let url = with_after_seq(&url, args.after_seq);
        let in_url = query_token(&url);
        let in_offer = args.offer.as_deref().and_then(offered_token);
        let token = match args.token.as_deref() {
            Some("-") => Some(read_stdin("the token")?),
            Some(t) => Some(t.to_string()),
            None => in_url.clone().or_else(|| in_offer.clone()),
        };
        // Replays the client's call: its own offer; none when it put the token in the URL;
        // otherwise the correct browser call.
        let offer = match (&args.offer, &token) {
            (Some(o), _) => Some(o.clone()).filter(|o| !o.trim().is_empty()),
            (None, _) if in_url.is_some() => None,
            (None, Some(t)) => Some(format!("{PROTOCOL_MARKER}, {t}")),
            (None, None) => bail!(
                "give the token your client sends: --token TOKEN, or --token - to read it from standard input"
            ),
        };
        let secrets = token.iter().chain(&in_url).chain(&in_offer).cloned().collect();
        Ok(Call { url, token, offer, secrets })
    }
}

/// `ws://` and `wss://` as given, `http://` and `https://` turned into them (browsers accept
/// all four).
pub fn gateway_url(url: &str) -> Result<String> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("http://") {
        return Ok(format!("ws://{rest}"));
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return Ok(format!("wss://{rest}"));
    }
    if !url.starts_with("ws://") && !url.starts_with("wss://") {
        bail!(
            "--gateway-url {url} is not a ws:// or wss:// URL; use the gatewayUrl of a guest session"
        );
    }
    Ok(url.to_string())
}

pub fn base_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !url.starts_with("http://") && !url.starts_with("https://") {
        bail!("--base-url {url} is not an http:// or https:// URL, e.g. http://127.0.0.1:8080");
    }
    Ok(url.to_string())
}

/// The HTTP base of a gateway URL: `wss://host/prefix/api/v2/gateway?x` → `https://host/prefix`.
pub fn http_base(ws_url: &str) -> String {
    let (scheme, rest) = match ws_url.strip_prefix("wss://") {
        Some(rest) => ("https", rest),
        None => ("http", ws_url.strip_prefix("ws://").unwrap_or(ws_url)),
    };
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let base = path
        .strip_suffix(porch_wire::GATEWAY_PATH)
        .unwrap_or_else(|| path.split('/').next().unwrap_or(path));
    format!("{scheme}://{}", base.trim_end_matches('/'))
}

pub fn with_after_seq(url: &str, after_seq: Option<u64>) -> String {
    match after_seq {
        Some(seq) if url.contains('?') => format!("{url}&afterSeq={seq}"),
        Some(seq) => format!("{url}?afterSeq={seq}"),
        None => url.to_string(),
    }
}

/// A token carried in the URL, as the gateway reads it.
fn query_token(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_pairs(query).find(|(k, _)| k == "token" || k == "access_token").map(|(_, v)| v)
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        Some((k.to_string(), v.to_string()))
    })
}

/// The longest offered value that is not the marker: the token, wherever the client put it.
fn offered_token(offer: &str) -> Option<String> {
    let squash = |s: &str| {
        s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
    };
    let marker = squash(PROTOCOL_MARKER);
    offer
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty() && squash(v) != marker)
        .max_by_key(|v| v.len())
        .map(str::to_string)
}

pub fn read_stdin(what: &str) -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("reading {what} from standard input"))?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_finds_the_http_base_and_the_token_wherever_it_was_put() {
        assert_eq!(http_base("ws://h:8080/api/v2/gateway?afterSeq=1"), "http://h:8080");
        assert_eq!(http_base("ws://h/porch/api/v2/gateway"), "http://h/porch");
        assert_eq!(http_base("ws://h:1/elsewhere"), "http://h:1");
        assert_eq!(http_base("wss://h/api/v2/gateway"), "https://h");
        assert_eq!(gateway_url("https://h/api/v2/gateway").unwrap(), "wss://h/api/v2/gateway");
        assert!(gateway_url("ftp://h").is_err() && base_url("ws://h").is_err());
        assert_eq!(
            query_token("ws://h/api/v2/gateway?afterSeq=1&token=a.b.c").as_deref(),
            Some("a.b.c")
        );
        assert_eq!(offered_token("a.b.c, NICE-WebSocket-Auth").as_deref(), Some("a.b.c"));
        assert_eq!(offered_token("nice-websocket-auth, a.b.c").as_deref(), Some("a.b.c"));
        assert_eq!(with_after_seq("ws://h/g?token=x", Some(3)), "ws://h/g?token=x&afterSeq=3");
    }
}
