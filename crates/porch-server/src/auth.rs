//! Authentication: the one path from a token to a `Principal`.
//!
//! REST extractors and the gateway both end in `authenticate`. The token verifier
//! (`Keyring::verify`) and the session checks after it (guest revoked? deployment disabled?
//! origin allowed?) are the same code for both, so a token can never be valid for one and not
//! the other: the defect of the user report that started Porch.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use porch_core::model::{
    DeploymentRecord, GuestRecord, GuestSession, GuestStanding, Standing, TokenRefusal,
};
use porch_core::store::Account;
use porch_core::token::{Claims, Expectation, TokenKind};
use porch_wire::ErrorCode;
use porch_wire::rest::Conversation;

use crate::error::ApiError;
use crate::state::AppState;

/// Who is making a request, after every check passed.
// One per request or connection, never stored in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Principal {
    Client(ClientPrincipal),
    Guest(GuestPrincipal),
    Agent(AgentPrincipal),
    Bot(BotPrincipal),
}

#[derive(Clone, Debug)]
pub struct ClientPrincipal {
    pub client_id: String,
    pub claims: Claims,
}

#[derive(Clone, Debug)]
pub struct GuestPrincipal {
    pub guest: GuestRecord,
    pub deployment: DeploymentRecord,
    /// The guest's conversation, read in the same snapshot as the guest: a session's `ready`
    /// starts from its head.
    pub conversation: Conversation,
    pub claims: Claims,
}

#[derive(Clone, Debug)]
pub struct AgentPrincipal {
    pub agent_id: String,
    pub name: String,
    /// The queues it serves (offers, taking by hand).
    pub queues: Vec<String>,
    /// Sees every queue and acts on any live conversation (docs/routing.md, "Supervisors").
    pub supervisor: bool,
    pub claims: Claims,
}

impl AgentPrincipal {
    /// Whether the agent sees conversations of `queue`: a supervisor sees every queue.
    pub fn sees(&self, queue: &str) -> bool {
        self.supervisor || self.queues.iter().any(|q| q == queue)
    }
}

/// A bot of a deployment (docs/bots.md), as its token and its row say.
#[derive(Clone, Debug)]
pub struct BotPrincipal {
    pub bot: porch_core::model::BotRecord,
    pub claims: Claims,
}

/// Verifies `token` for an endpoint accepting `kinds`, then checks the session behind it.
///
/// `origin` is the browser's `Origin` header, if any: guests must come from an origin of
/// their deployment. Requests without `Origin` (servers, native apps) are not origin-checked.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    kinds: &[TokenKind],
    endpoint: &str,
    origin: Option<&str>,
) -> Result<Principal, ApiError> {
    let claims = verify(state, token, kinds, endpoint, origin).await?;
    principal(state, claims, origin).await
}

/// The first half of `authenticate`: the `Origin` pre-check and the token itself, without
/// reading the store. (The gateway subscribes a guest's feed between the halves.)
pub async fn verify(
    state: &AppState,
    token: &str,
    kinds: &[TokenKind],
    endpoint: &str,
    origin: Option<&str>,
) -> Result<Claims, ApiError> {
    if let Some(origin) = origin {
        state.origins.check_known(origin).await?;
    }
    let limits = &state.config.limits;
    let expectation = Expectation {
        kinds,
        endpoint,
        issuer: &state.config.issuer,
        now_secs: porch_core::time::now_ms() / 1000,
        leeway_secs: i64::try_from(limits.token_leeway_secs).unwrap_or(i64::MAX),
    };
    Ok(state.keys.verify(state.store.as_ref(), token, &expectation).await?)
}

/// The second half of `authenticate`: the session behind verified claims.
pub async fn principal(
    state: &AppState,
    claims: Claims,
    origin: Option<&str>,
) -> Result<Principal, ApiError> {
    match claims.kind() {
        Some(TokenKind::Guest) => guest(state, claims, origin).await.map(Principal::Guest),
        Some(TokenKind::Agent) => agent(state, claims, origin).await.map(Principal::Agent),
        Some(TokenKind::Client) => client(state, claims).await.map(Principal::Client),
        Some(TokenKind::Bot) => bot(state, claims).await.map(Principal::Bot),
        None => unreachable!("verify() accepts only known kinds"),
    }
}

/// Checks again that a live guest session may go on (not revoked, deployment enabled), in one
/// store read that also brings its conversation's head and its deployment's notice.
pub async fn recheck_guest(state: &AppState, guest_id: &str) -> Result<GuestStanding, ApiError> {
    let standing = state.standings.of(guest_id).await?.ok_or_else(guest_gone)?;
    if standing.erased {
        return Err(guest_erased());
    }
    if standing.revoked {
        return Err(guest_revoked());
    }
    if !standing.deployment_enabled {
        return Err(deployment_disabled(&standing.deployment_id));
    }
    Ok(standing)
}

/// Checks again that a live agent session may go on (the agent still exists, is enabled,
/// and kept the secret its token was issued with): one short read of its row per heartbeat.
pub async fn recheck_agent(state: &AppState, session: &AgentPrincipal) -> Result<(), ApiError> {
    agent(state, session.claims.clone(), None).await.map(|_| ())
}

fn guest_gone() -> ApiError {
    ApiError::new(
        ErrorCode::GuestRevoked,
        "this guest no longer exists; create a new guest session",
    )
}

/// Checked before `revoked`, which an erasure sets too: the client learns why.
fn guest_erased() -> ApiError {
    ApiError::new(
        ErrorCode::GuestErased,
        "this guest's customer was erased by the operator; its texts are gone and the session is over",
    )
}

fn guest_revoked() -> ApiError {
    ApiError::new(ErrorCode::GuestRevoked, "this guest session was revoked; create a new one")
}

fn deployment_disabled(deployment_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DeploymentDisabled,
        format!("deployment {deployment_id} is disabled by its operator"),
    )
}

async fn guest(
    state: &AppState,
    claims: Claims,
    origin: Option<&str>,
) -> Result<GuestPrincipal, ApiError> {
    // Deployments are never deleted, so a guest without one is as gone as a missing guest.
    let GuestSession { guest, deployment, conversation } =
        state.store.guest_session(&claims.sub).await?.ok_or_else(guest_gone)?;
    if guest.erased {
        return Err(guest_erased());
    }
    if guest.revoked {
        return Err(guest_revoked());
    }
    if !deployment.enabled {
        return Err(deployment_disabled(&deployment.id));
    }
    if let Some(origin) = origin {
        check_origin(&deployment, origin)?;
    }
    check_guest_claims(&claims, &guest)?;
    Ok(GuestPrincipal { guest, deployment, conversation, claims })
}

/// A guest token names its conversation and deployment (`cnv`, `dep`), so the gateway can
/// subscribe to them before reading the store. Porch signs only true ones; a signed token
/// naming another guest's is refused rather than trusted.
fn check_guest_claims(claims: &Claims, guest: &GuestRecord) -> Result<(), ApiError> {
    let names_its_own = claims.cnv.as_deref() == Some(guest.conversation_id.as_str())
        && claims.dep.as_deref() == Some(guest.deployment_id.as_str());
    if names_its_own {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::TokenMalformed,
        "the token's cnv/dep are not its guest's; use the accessToken from /guests as issued",
    ))
}

/// Exact-match allowlist check, with the fix in the message. The commonest near miss, the
/// same host on another port or scheme (a dev server on :3000, http for https), is named.
pub fn check_origin(deployment: &DeploymentRecord, origin: &str) -> Result<(), ApiError> {
    if deployment.allows_origin(origin) {
        return Ok(());
    }
    let shown = crate::error::shown_origin(origin);
    let near = origin_host(origin).and_then(|host| {
        deployment.origins.iter().find(|listed| origin_host(listed) == Some(host))
    });
    let message = match near {
        Some(listed) => format!(
            "{shown} is not among this deployment's origins (it lists {}: scheme and port must match too); add it there",
            crate::error::shown_origin(listed)
        ),
        None => format!("{shown} is not among this deployment's origins; add it there"),
    };
    Err(ApiError::new(ErrorCode::OriginNotAllowed, message))
}

/// The host of `scheme://host[:port]` (`[::1]` stays bracketed), without scheme or port.
fn origin_host(origin: &str) -> Option<&str> {
    let (_, authority) = origin.split_once("://")?;
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(host)
        }
        _ => Some(authority),
    }
}

async fn agent(
    state: &AppState,
    claims: Claims,
    origin: Option<&str>,
) -> Result<AgentPrincipal, ApiError> {
    let name = claims.name.clone().unwrap_or_default();
    let record = state.store.agent_by_name(&name).await?;
    let Some(record) = record.filter(|a| a.id == claims.sub) else {
        return Err(ApiError::new(
            ErrorCode::AgentCredentialsInvalid,
            "this agent no longer exists; log in again",
        ));
    };
    // Agents use the console Porch serves itself, or no browser at all.
    if let Some(origin) = origin.filter(|o| *o != state.config.public_origin()) {
        let shown = crate::error::shown_origin(origin);
        return Err(ApiError::new(
            ErrorCode::OriginNotAllowed,
            format!(
                "agents connect from Porch's own pages ({}), not {shown}",
                state.config.public_origin()
            ),
        ));
    }
    check_standing(Account::Agent, &record.standing, &claims)?;
    Ok(AgentPrincipal {
        agent_id: record.id,
        name: record.name,
        queues: record.queues,
        supervisor: record.supervisor,
        claims,
    })
}

/// A client token counts while its client exists, is enabled, and kept the secret it was
/// issued with: one short read of the client's row (guest tokens never come here).
async fn client(state: &AppState, claims: Claims) -> Result<ClientPrincipal, ApiError> {
    let Some(record) = state.store.client(&claims.sub).await? else {
        return Err(ApiError::new(
            ErrorCode::TokenRevoked,
            "the OAuth client of this token no longer exists; use another client (`porch clients list`)",
        ));
    };
    check_standing(Account::Client, &record.standing, &claims)?;
    Ok(ClientPrincipal { client_id: record.id, claims })
}

/// A bot token counts while its bot exists and is enabled: one short read of the bot's row
/// per use, so `porch bots remove` and `porch bots disable` refuse its tokens on every node at
/// once.
async fn bot(state: &AppState, claims: Claims) -> Result<BotPrincipal, ApiError> {
    match state.store.bot(&claims.sub).await? {
        Some(bot) if bot.enabled => Ok(BotPrincipal { bot, claims }),
        Some(bot) => Err(crate::bots::disabled(&bot.id)),
        None => Err(ApiError::new(
            ErrorCode::BotCredentialsInvalid,
            "the bot of this token was removed; add it again (`porch bots add`)",
        )),
    }
}

/// Refuses a genuine token whose agent or client was disabled, or whose secret was reset
/// after the token was issued. The store is the truth: every node reads it per use.
fn check_standing(account: Account, standing: &Standing, claims: &Claims) -> Result<(), ApiError> {
    let refusal = match standing.check_token(claims.iat) {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    Err(match (refusal, account) {
        (TokenRefusal::Disabled, Account::Agent) => agent_disabled(),
        (TokenRefusal::Disabled, Account::Client) => client_disabled(),
        (TokenRefusal::Revoked, Account::Agent) => ApiError::new(
            ErrorCode::TokenRevoked,
            "this agent's secret was reset after the token was issued; log in again with the new secret",
        ),
        (TokenRefusal::Revoked, Account::Client) => ApiError::new(
            ErrorCode::TokenRevoked,
            "this client's secret was reset after the token was issued; get a new token with the new secret",
        ),
    })
}

/// A disabled agent's sign-in and tokens are refused with this.
pub fn agent_disabled() -> ApiError {
    ApiError::new(
        ErrorCode::AgentDisabled,
        "this agent is disabled by the operator; ask them to run `porch agents enable NAME`",
    )
}

/// A disabled client's sign-in and tokens are refused with this.
pub fn client_disabled() -> ApiError {
    ApiError::new(
        ErrorCode::ClientDisabled,
        "this OAuth client is disabled by the operator; ask them to run `porch clients enable CLIENT_ID`",
    )
}

/// The bearer token of a REST request, or why there is none.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            ErrorCode::TokenMissing,
            "send the token as `Authorization: Bearer <token>`",
        ));
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::new(
            ErrorCode::TokenMissing,
            "Authorization must be `Bearer <token>` (RFC 6750)",
        )),
    }
}

fn origin(parts: &Parts) -> Option<&str> {
    parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Extractor: a request with a valid guest access token.
pub struct GuestAuth(pub GuestPrincipal);

impl FromRequestParts<AppState> for GuestAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        match authenticate(state, token, &[TokenKind::Guest], "this guest endpoint", origin(parts))
            .await?
        {
            Principal::Guest(g) => Ok(GuestAuth(g)),
            _ => unreachable!("only guest tokens are accepted here"),
        }
    }
}

/// Extractor: a request with a valid agent token.
pub struct AgentAuth(pub AgentPrincipal);

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        match authenticate(state, token, &[TokenKind::Agent], "the agent API", origin(parts))
            .await?
        {
            Principal::Agent(a) => Ok(AgentAuth(a)),
            _ => unreachable!("only agent tokens are accepted here"),
        }
    }
}

/// Extractor: a request with a valid bot token (the bot API).
pub struct BotAuth(pub BotPrincipal);

impl FromRequestParts<AppState> for BotAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        match authenticate(state, token, &[TokenKind::Bot], "the bot API", None).await? {
            Principal::Bot(b) => Ok(BotAuth(b)),
            _ => unreachable!("only bot tokens are accepted here"),
        }
    }
}

/// Extractor: a request with a valid OAuth client token.
pub struct ClientAuth(pub ClientPrincipal);

impl FromRequestParts<AppState> for ClientAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        match authenticate(state, token, &[TokenKind::Client], "this endpoint", None).await? {
            Principal::Client(c) => Ok(ClientAuth(c)),
            _ => unreachable!("only client tokens are accepted here"),
        }
    }
}
