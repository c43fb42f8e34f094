//! The bot API (docs/bots.md), the agent's read of a bot's hand-off, and a guest's pick of a
//! quick reply.

use porch_wire::bot::{
    AgentHandoff, BotMessageRequest, BotSession, BotTokenRequest, Choice, Handoff, HandoffRequest,
};
use porch_wire::rest::{MessagePage, SendMessageRequest, SendMessageResponse};
use porch_wire::*;

use crate::api::{Api, ApiResult, WithStatus, decode};

impl Api {
    /// `POST /api/v2/bots/token`.
    pub async fn bot_token(&self, bot_id: &str, secret: &str) -> ApiResult<BotSession> {
        let body = BotTokenRequest { bot_id: bot_id.into(), secret: secret.into() };
        let request = self.http().post(self.url(BOT_TOKEN_PATH)).json(&body);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `POST /api/v2/bot/conversations/{id}/messages`.
    pub async fn bot_send(
        &self,
        bot_token: &str,
        conversation_id: &str,
        body: &BotMessageRequest,
    ) -> ApiResult<WithStatus<SendMessageResponse>> {
        let url = self.url(&format!("{BOT_API_PREFIX}/conversations/{conversation_id}/messages"));
        decode(self.http().post(url).bearer_auth(bot_token).json(body).send().await).await
    }

    /// `GET /api/v2/bot/conversations/{id}/messages?{query}`.
    pub async fn bot_history(
        &self,
        bot_token: &str,
        conversation_id: &str,
        query: &str,
    ) -> ApiResult<MessagePage> {
        let path = format!("{BOT_API_PREFIX}/conversations/{conversation_id}/messages?{query}");
        let request = self.http().get(self.url(&path)).bearer_auth(bot_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `POST /api/v2/bot/conversations/{id}/handoff`.
    pub async fn bot_handoff(
        &self,
        bot_token: &str,
        conversation_id: &str,
        body: &HandoffRequest,
    ) -> ApiResult<Handoff> {
        let url = self.url(&format!("{BOT_API_PREFIX}/conversations/{conversation_id}/handoff"));
        let request = self.http().post(url).bearer_auth(bot_token).json(body);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `GET /api/v2/agent/conversations/{id}/handoff`.
    pub async fn agent_handoff(
        &self,
        agent_token: &str,
        conversation_id: &str,
    ) -> ApiResult<AgentHandoff> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/handoff"));
        decode(self.http().get(url).bearer_auth(agent_token).send().await).await.map(|r| r.body)
    }

    /// A guest's pick of a quick reply: an ordinary message whose text is the label.
    pub async fn guest_choose(
        &self,
        guest_token: &str,
        client_message_id: &str,
        label: &str,
        choice: Choice,
    ) -> ApiResult<WithStatus<SendMessageResponse>> {
        let body = SendMessageRequest {
            client_message_id: client_message_id.into(),
            text: label.into(),
            choice: Some(choice),
        };
        let request =
            self.http().post(self.url(GUEST_MESSAGES_PATH)).bearer_auth(guest_token).json(&body);
        decode(request.send().await).await
    }
}
