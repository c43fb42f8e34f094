//! The rows of the handshake matrix: what is sent, what must come back, and which rule of
//! `docs/handshake.md` (H1–H9) says so. `docs/handshake.md` holds the same table, rendered by
//! `Expect::render`; a test compares them.

use crate::raw::{KEY, Req};

/// What one case needs from the running server.
pub struct Ctx {
    pub host: String,
    pub path: String,
    pub guest_token: String,
    pub client_token: String,
    pub origin: String,
}

impl Ctx {
    /// The documented good request, with the guest token offered as the subprotocol pair.
    pub fn good(&self) -> Req {
        self.bare().set("Sec-WebSocket-Protocol", &format!("{M}, {}", self.guest_token))
    }

    /// An upgrade with no credentials at all.
    pub fn bare(&self) -> Req {
        Req::upgrade(&self.host, &self.path)
    }

    fn offer(&self, value: &str) -> Vec<u8> {
        self.bare().set("Sec-WebSocket-Protocol", value).bytes()
    }
}

const M: &str = porch_wire::PROTOCOL_MARKER;

/// The documented outcome of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `101`, echoing `echo` (or no `Sec-WebSocket-Protocol`), then `ready`.
    Ready(Option<&'static str>),
    /// `101`, echoing `echo`, then a close frame with `code` and a reason starting `error: `.
    Close(Option<&'static str>, u16, &'static str),
    /// An HTTP answer, no upgrade: status, the JSON `error` (if a JSON body), and a header the
    /// answer must carry (`name: value`).
    Http(u16, Option<&'static str>, Option<&'static str>),
    /// The connection is closed without any answer (not HTTP/1.x at all).
    Dropped,
}

impl Expect {
    /// The "answer" column of the matrix in docs/handshake.md.
    pub fn render(self) -> String {
        let echo = |e: Option<&str>| e.map_or("no echo".to_string(), |e| format!("echo `{e}`"));
        match self {
            Expect::Ready(e) => format!("101, {}, `ready`", echo(e)),
            Expect::Close(e, code, error) => format!("101, {}, close {code} `{error}`", echo(e)),
            Expect::Dropped => "connection closed, no answer".to_string(),
            Expect::Http(status, error, header) => {
                let mut s = status.to_string();
                if let Some(error) = error {
                    s.push_str(&format!(" `{error}`"));
                }
                if let Some(header) = header {
                    s.push_str(&format!(", `{header}`"));
                }
                s
            }
        }
    }
}

/// One row: name, what is sent (for people), the request, the outcome, the rule.
pub struct Case {
    pub name: &'static str,
    pub what: &'static str,
    pub request: fn(&Ctx) -> Vec<u8>,
    pub expect: Expect,
    pub rule: &'static str,
}

const MARK: Option<&str> = Some(M);
const IR: Option<&str> = Some("invalid_request");

/// `n` header lines, each `X-Filler-i: x`.
fn filler_headers(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| format!("X-Filler-{i}: x\r\n").into_bytes()).collect()
}

#[rustfmt::skip]
pub fn cases() -> Vec<Case> {
    use Expect::*;
    let c = |name, what, request, expect, rule| Case { name, what, request, expect, rule };
    vec![
        // H1: GET over HTTP/1.1 on the gateway path.
        c("post", "`POST` instead of `GET`", |x| x.good().line(&format!("POST {} HTTP/1.1", x.path)).add("Content-Length", "0").bytes(), Http(405, IR, Some("Allow: GET")), "H1"),
        c("put", "`PUT` instead of `GET`", |x| x.good().line(&format!("PUT {} HTTP/1.1", x.path)).add("Content-Length", "0").bytes(), Http(405, IR, Some("Allow: GET")), "H1"),
        c("head", "`HEAD` instead of `GET`", |x| x.good().line(&format!("HEAD {} HTTP/1.1", x.path)).bytes(), Http(405, None, Some("Allow: GET")), "H1"),
        c("http_1_0", "`HTTP/1.0` request line", |x| x.good().line(&format!("GET {} HTTP/1.0", x.path)).bytes(), Http(400, IR, None), "H1"),
        c("http2_preface", "HTTP/2 connection preface (h2c prior knowledge)", |_| b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), Dropped, "H1"),
        c("other_path", "the good request on `/api/v2/gateway/` (trailing slash)", |x| x.good().line(&format!("GET {}/ HTTP/1.1", x.path)).bytes(), Http(404, Some("not_found"), None), "H1"),
        // H2: the upgrade headers.
        c("no_upgrade", "no `Upgrade`", |x| x.good().remove("Upgrade").bytes(), Http(400, IR, None), "H2"),
        c("upgrade_h2c", "`Upgrade: h2c`", |x| x.good().set("Upgrade", "h2c").bytes(), Http(400, IR, None), "H2"),
        c("upgrade_case", "`Upgrade: WebSocket` (case differs)", |x| x.good().set("Upgrade", "WebSocket").bytes(), Ready(MARK), "H2"),
        c("no_connection", "no `Connection`", |x| x.good().remove("Connection").bytes(), Http(400, IR, None), "H2"),
        c("connection_keep_alive", "`Connection: keep-alive` only", |x| x.good().set("Connection", "keep-alive").bytes(), Http(400, IR, None), "H2"),
        c("connection_list", "`Connection: keep-alive, UPGRADE` (a list, case differs)", |x| x.good().set("Connection", "keep-alive, UPGRADE").bytes(), Ready(MARK), "H2"),
        c("no_key", "no `Sec-WebSocket-Key`", |x| x.good().remove("Sec-WebSocket-Key").bytes(), Http(400, IR, None), "H2"),
        c("key_not_base64", "`Sec-WebSocket-Key: not base64!`", |x| x.good().set("Sec-WebSocket-Key", "not base64!").bytes(), Http(400, IR, None), "H2"),
        c("key_15_bytes", "a key of 15 bytes, base64", |x| x.good().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j").bytes(), Http(400, IR, None), "H2"),
        c("key_twice", "`Sec-WebSocket-Key` twice", |x| x.good().add("Sec-WebSocket-Key", KEY).bytes(), Http(400, IR, None), "H2"),
        c("no_host", "no `Host`", |x| x.good().remove("Host").bytes(), Http(400, IR, None), "H2"),
        // H3: the protocol version.
        c("version_8", "`Sec-WebSocket-Version: 8`", |x| x.good().set("Sec-WebSocket-Version", "8").bytes(), Http(426, IR, Some("Sec-WebSocket-Version: 13")), "H3"),
        c("no_version", "no `Sec-WebSocket-Version`", |x| x.good().remove("Sec-WebSocket-Version").bytes(), Http(426, IR, Some("Sec-WebSocket-Version: 13")), "H3"),
        // H4: size of the request head.
        c("headers_2000", "2,000 extra header lines", |x| x.good().extra(filler_headers(2_000)).bytes(), Http(431, None, None), "H4"),
        c("header_20mb", "one header of 20 MB", |x| x.good().add("X-Big", &"a".repeat(20 << 20)).bytes(), Http(431, None, None), "H4"),
        c("offer_200kb", "marker + a token of 200 kB", |x| x.offer(&format!("{M}, {}", "a".repeat(200_000))), Close(MARK, 4003, "token_malformed"), "H4"),
        c("offer_200kb_no_marker", "200 kB of other subprotocols", |x| x.offer(&"chat, ".repeat(200_000 / 6)), Http(401, Some("subprotocol_missing"), None), "H4"),
        // H5: the subprotocol offer.
        c("pair", "`NICE-WebSocket-Auth, <token>`", |x| x.good().bytes(), Ready(MARK), "H5"),
        c("pair_repeated_header", "marker and token in two `Sec-WebSocket-Protocol` headers", |x| x.bare().add("Sec-WebSocket-Protocol", M).add("Sec-WebSocket-Protocol", &x.guest_token).bytes(), Ready(MARK), "H5"),
        c("pair_ows", "spaces and tabs around the values", |x| x.offer(&format!(" \t{M} \t, \t{} \t", x.guest_token)), Ready(MARK), "H5"),
        c("pair_no_space", "`NICE-WebSocket-Auth,<token>`", |x| x.offer(&format!("{M},{}", x.guest_token)), Ready(MARK), "H5"),
        c("pair_empty_elements", "`NICE-WebSocket-Auth, , <token>,` (empty list elements)", |x| x.offer(&format!("{M}, , {},", x.guest_token)), Ready(MARK), "H5"),
        c("marker_alone", "the marker alone", |x| x.offer(M), Close(MARK, 4001, "token_missing"), "H5"),
        c("empty_token", "`NICE-WebSocket-Auth, ` (empty token)", |x| x.offer(&format!("{M}, ")), Close(MARK, 4001, "token_missing"), "H5"),
        c("token_first", "token, then marker", |x| x.offer(&format!("{}, {M}", x.guest_token)), Close(MARK, 4007, "subprotocol_order"), "H5"),
        c("extra_value", "marker, token, `chat`", |x| x.offer(&format!("{M}, {}, chat", x.guest_token)), Close(MARK, 4007, "subprotocol_order"), "H5"),
        c("marker_twice", "marker, marker, token", |x| x.offer(&format!("{M}, {M}, {}", x.guest_token)), Close(MARK, 4007, "subprotocol_order"), "H5"),
        c("marker_lower_case", "`nice-websocket-auth, <token>`", |x| x.offer(&format!("nice-websocket-auth, {}", x.guest_token)), Close(Some("nice-websocket-auth"), 4007, "subprotocol_misspelled"), "H5"),
        c("marker_underscores", "`NICE_WebSocket_Auth, <token>`", |x| x.offer(&format!("NICE_WebSocket_Auth, {}", x.guest_token)), Close(Some("NICE_WebSocket_Auth"), 4007, "subprotocol_misspelled"), "H5"),
        c("token_equals", "a token with `=` (standard base64)", |x| x.offer(&format!("{M}, {}=", x.guest_token)), Close(MARK, 4007, "token_characters"), "H5"),
        c("token_slash", "a token with `/`", |x| x.offer(&format!("{M}, {}", x.guest_token.replacen('.', "/", 1))), Close(MARK, 4007, "token_characters"), "H5"),
        c("token_quoted", "the token in double quotes", |x| x.offer(&format!("{M}, \"{}\"", x.guest_token)), Close(MARK, 4007, "token_characters"), "H5"),
        c("token_non_ascii", "a token with `é` (UTF-8 bytes)", |x| x.offer(&format!("{M}, é{}", x.guest_token)), Close(MARK, 4007, "token_characters"), "H5"),
        c("token_not_jwt", "marker + `abc`", |x| x.offer(&format!("{M}, abc")), Close(MARK, 4003, "token_malformed"), "H5"),
        c("client_token", "marker + the OAuth client token", |x| x.offer(&format!("{M}, {}", x.client_token)), Close(MARK, 4004, "token_wrong_kind"), "H5"),
        c("bad_after_seq", "the good request with `?afterSeq=x`", |x| x.good().line(&format!("GET {}?afterSeq=x HTTP/1.1", x.path)).bytes(), Close(MARK, 4007, "invalid_request"), "H5"),
        // H6: the success reply.
        c("extensions_offered", "the good request offering `permessage-deflate`", |x| x.good().add("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits").bytes(), Ready(MARK), "H6"),
        // H7: offers a 101 cannot answer.
        c("token_alone", "the token alone", |x| x.offer(&x.guest_token), Http(401, Some("subprotocol_missing"), Some("WWW-Authenticate: Bearer realm=\"porch\"")), "H7"),
        c("other_protocols", "`chat, superchat`", |x| x.offer("chat, superchat"), Http(401, Some("subprotocol_missing"), None), "H7"),
        // H8: Origin.
        c("origin_allowed", "the good request from the deployment's origin", |x| x.good().set("Origin", &x.origin).bytes(), Ready(MARK), "H8"),
        c("origin_missing", "the good request without `Origin` (not a browser)", |x| x.good().remove("Origin").bytes(), Ready(MARK), "H8"),
        c("origin_other", "from `https://evil.example`", |x| x.good().set("Origin", "https://evil.example").bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        c("origin_other_bad_token", "from `https://evil.example`, with a token that is not a JWT", |x| x.bare().set("Sec-WebSocket-Protocol", &format!("{M}, abc")).set("Origin", "https://evil.example").bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        c("origin_case", "from the allowed origin in upper case", |x| x.good().set("Origin", &x.origin.to_uppercase()).bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        c("origin_slash", "from the allowed origin plus `/`", |x| x.good().set("Origin", &format!("{}/", x.origin)).bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        c("origin_suffix", "from the allowed origin plus `.evil`", |x| x.good().set("Origin", &format!("{}.evil", x.origin)).bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        c("origin_null", "`Origin: null` (sandboxed page)", |x| x.good().set("Origin", "null").bytes(), Close(MARK, 4005, "origin_not_allowed"), "H8"),
        // H9: other credentials.
        c("bearer", "no offer, `Authorization: Bearer <token>`", |x| x.bare().set("Authorization", &format!("Bearer {}", x.guest_token)).bytes(), Ready(None), "H9"),
        c("bearer_lower_case", "no offer, `authorization: bearer <token>`", |x| x.bare().set("authorization", &format!("bearer {}", x.guest_token)).bytes(), Ready(None), "H9"),
        c("bearer_own_protocol", "`chat` offered, `Authorization: Bearer <token>`", |x| x.bare().set("Sec-WebSocket-Protocol", "chat").set("Authorization", &format!("Bearer {}", x.guest_token)).bytes(), Ready(None), "H9"),
        c("basic_auth", "no offer, `Authorization: Basic …`", |x| x.bare().set("Authorization", "Basic dXNlcjpwYXNz").bytes(), Close(None, 4001, "subprotocol_missing"), "H9"),
        c("nothing", "no offer, no `Authorization`", |x| x.bare().bytes(), Close(None, 4001, "subprotocol_missing"), "H9"),
        c("query_token", "no offer, `?access_token=<token>`", |x| x.bare().line(&format!("GET {}?access_token={} HTTP/1.1", x.path, x.guest_token)).bytes(), Close(None, 4008, "token_in_query"), "H9"),
        c("query_token_short", "no offer, `?token=<token>`", |x| x.bare().line(&format!("GET {}?token={} HTTP/1.1", x.path, x.guest_token)).bytes(), Close(None, 4008, "token_in_query"), "H9"),
        c("query_token_with_pair", "the good request with `?access_token=<token>` too", |x| x.good().line(&format!("GET {}?access_token={} HTTP/1.1", x.path, x.guest_token)).bytes(), Close(Some(M), 4008, "token_in_query"), "H9"),
        c("query_token_with_bearer", "no offer, `Authorization: Bearer <token>` and `?token=<token>`", |x| x.bare().line(&format!("GET {}?token={} HTTP/1.1", x.path, x.guest_token)).set("Authorization", &format!("Bearer {}", x.guest_token)).bytes(), Close(None, 4008, "token_in_query"), "H9"),
        c("query_token_alone_offered", "the token alone, and `?access_token=<token>`", |x| x.bare().line(&format!("GET {}?access_token={} HTTP/1.1", x.path, x.guest_token)).set("Sec-WebSocket-Protocol", &x.guest_token).bytes(), Http(401, Some("token_in_query"), None), "H9"),
    ]
}
