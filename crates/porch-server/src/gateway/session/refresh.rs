//! `refresh`: a live session takes a fresh access token without reconnecting
//! (docs/protocol.md, "Refresh").
//!
//! The new token goes through the same two halves as a handshake's (`auth::verify`, then
//! `auth::principal`), limited to the session's own kind and its own guest or agent, so a
//! refresh can extend a session but never change who it speaks for. Its subscriptions stay:
//! a guest's topics are fixed by its conversation, an agent's by its queues when it connected.

use porch_core::token::TokenKind;
use porch_wire::ErrorCode;

use super::super::frames::End;
use super::{Session, Who};
use crate::auth::{self, Principal};
use crate::error::ApiError;

impl Session {
    /// Checks `token` and moves the session onto it; returns its remaining lifetime in ms.
    pub(super) async fn refresh(&mut self, who: &mut Who, token: &str) -> Result<i64, ApiError> {
        let (kind, own_id) = match who {
            Who::Guest { participant, .. } => (TokenKind::Guest, participant.id.clone()),
            Who::Agent(agent) => (TokenKind::Agent, agent.agent_id.clone()),
        };
        // No `Origin` here: the handshake checked it, and the same guest or agent has the
        // same deployment (or Porch's own console) behind it.
        let claims = auth::verify(&self.state, token, &[kind], "a `refresh` frame", None).await?;
        if claims.sub != own_id {
            return Err(subject_wrong(kind, &own_id));
        }
        let exp = match (auth::principal(&self.state, claims, None).await?, who) {
            (Principal::Guest(guest), Who::Guest { .. }) => guest.claims.exp,
            // The heartbeat re-checks an agent's standing against the claims it holds
            // (`recheck_agent`): from now on, the new token's.
            (Principal::Agent(fresh), Who::Agent(agent)) => {
                let exp = fresh.claims.exp;
                agent.claims = fresh.claims;
                exp
            }
            _ => unreachable!("`verify` admitted only the session's own kind"),
        };
        self.token_exp_secs = exp;
        Ok(exp * 1000 - porch_core::time::now_ms())
    }

    /// A refused refresh changes nothing: the session goes on under its old token, and the
    /// client hears why in an `error` frame. Once the old token has expired, though, the
    /// refusal ends the session (the heartbeat would close it with 4002 anyway), with the
    /// refusal's own code, which tells the client more than 4002 would.
    pub(super) async fn refused_refresh(&mut self, error: ApiError) -> Result<(), End> {
        if porch_core::time::now_ms() / 1000 > self.token_exp_secs {
            return Err(End::with(error));
        }
        self.send_error(error, None).await
    }
}

fn subject_wrong(kind: TokenKind, own_id: &str) -> ApiError {
    let whose = match kind {
        TokenKind::Agent => "agent",
        _ => "guest",
    };
    ApiError::new(
        ErrorCode::TokenSubjectWrong,
        format!(
            "the refresh token is for another {whose} than this connection's ({own_id}); refresh with this {whose}'s own token, or open a new connection"
        ),
    )
}
