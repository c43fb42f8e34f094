//! REST calls: OAuth token, guest sessions, deployment notices, guest messages, a customer's
//! conversations, agent API.

use porch_wire::rest::{
    AgentLoginRequest, AgentSession, CloseRequest, Conversation, ConversationList,
    ConversationPage, CreateGuestRequest, CustomerErasure, EraseCustomerRequest, ErrorBody,
    GuestQueue, GuestSession, IdentifyGuestRequest, MessagePage, NoticeState, SendMessageRequest,
    SendMessageResponse, SetNoticeRequest, TokenResponse, TransferRequest, WidgetGuestRequest,
};
use porch_wire::*;
use serde::de::DeserializeOwned;

use crate::tls::{Tls, TlsProblem};

/// A failed call: the server's answer when it gave one.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("HTTP {status}: {body:?}")]
    Http { status: u16, body: Option<ErrorBody>, www_authenticate: Option<String> },
    #[error("transport: {0}")]
    Transport(String),
    #[error("unexpected body: {0}")]
    Decode(String),
}

impl ApiError {
    /// The error code of an HTTP refusal, if it had the documented body.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Http { body: Some(b), .. } => Some(b.error),
            _ => None,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A client of one Porch server.
#[derive(Clone)]
pub struct Api {
    base_url: String,
    http: reqwest::Client,
}

/// A response with its status, for calls where the status carries meaning (201 vs 200).
#[derive(Debug)]
pub struct WithStatus<T> {
    pub status: u16,
    pub body: T,
}

impl Api {
    /// A client trusting the system's roots.
    pub fn new(base_url: &str) -> Api {
        Api::with_tls(base_url, &Tls::system())
    }

    /// A client trusting what `tls` trusts (e.g. a `--ca-file`), for an `https://` base URL.
    pub fn with_tls(base_url: &str, tls: &Tls) -> Api {
        let http = tls
            .http_client(reqwest::Client::builder())
            .expect("a client with no options set builds");
        Api { base_url: base_url.trim_end_matches('/').to_string(), http }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `POST /api/v2/oauth/token` with HTTP Basic client authentication.
    pub async fn client_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> ApiResult<TokenResponse> {
        let request = self
            .http
            .post(self.url(OAUTH_TOKEN_PATH))
            .basic_auth(client_id, Some(client_secret))
            .form(&[("grant_type", "client_credentials")]);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn create_guest(
        &self,
        client_token: &str,
        request: &CreateGuestRequest,
    ) -> ApiResult<GuestSession> {
        let request = self.http.post(self.url(GUESTS_PATH)).bearer_auth(client_token).json(request);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `POST /api/v2/webmessaging/deployments/{deploymentId}/guests`, the widget's endpoint, as
    /// a page of `origin` calls it; with `identityToken` set, the session is that customer's.
    pub async fn create_widget_guest(
        &self,
        deployment_id: &str,
        origin: &str,
        request: &WidgetGuestRequest,
    ) -> ApiResult<GuestSession> {
        let url = self.url(&WIDGET_GUESTS_PATH.replace("{deployment_id}", deployment_id));
        let request = self.http.post(url).header("origin", origin).json(request);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn guest(&self, client_token: &str, guest_id: &str) -> ApiResult<GuestSession> {
        let request =
            self.http.get(self.url(&format!("{GUESTS_PATH}/{guest_id}"))).bearer_auth(client_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// Sets (`Some(text)`) or clears (`None`) a deployment's notice.
    pub async fn set_notice(
        &self,
        client_token: &str,
        deployment_id: &str,
        text: Option<&str>,
    ) -> ApiResult<NoticeState> {
        let url = self.url(&DEPLOYMENT_NOTICE_PATH.replace("{deployment_id}", deployment_id));
        let request = match text {
            Some(text) => self.http.put(url).json(&SetNoticeRequest { text: text.into() }),
            None => self.http.delete(url),
        };
        decode(request.bearer_auth(client_token).send().await).await.map(|r| r.body)
    }

    pub async fn notice(&self, client_token: &str, deployment_id: &str) -> ApiResult<NoticeState> {
        let url = self.url(&DEPLOYMENT_NOTICE_PATH.replace("{deployment_id}", deployment_id));
        decode(self.http.get(url).bearer_auth(client_token).send().await).await.map(|r| r.body)
    }

    pub async fn refresh_guest(&self, guest_token: &str) -> ApiResult<GuestSession> {
        let request = self.http.post(self.url(GUEST_TOKEN_PATH)).bearer_auth(guest_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn guest_send(
        &self,
        guest_token: &str,
        client_message_id: &str,
        text: &str,
    ) -> ApiResult<WithStatus<SendMessageResponse>> {
        let body = SendMessageRequest {
            client_message_id: client_message_id.into(),
            text: text.into(),
            choice: None,
        };
        let request =
            self.http.post(self.url(GUEST_MESSAGES_PATH)).bearer_auth(guest_token).json(&body);
        decode(request.send().await).await
    }

    /// `GET .../guests/messages?{query}`, e.g. `after=0&limit=50`.
    pub async fn guest_history(&self, guest_token: &str, query: &str) -> ApiResult<MessagePage> {
        let request = self
            .http
            .get(self.url(&format!("{GUEST_MESSAGES_PATH}?{query}")))
            .bearer_auth(guest_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `GET .../guests/queue`: where the guest's waiting conversation stands in its queue.
    pub async fn guest_queue(&self, guest_token: &str) -> ApiResult<GuestQueue> {
        let request = self.http.get(self.url(GUEST_QUEUE_PATH)).bearer_auth(guest_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `POST .../guests/identity`: the guest's session becomes the customer the identity token
    /// names, keeping its conversation.
    pub async fn identify_guest(
        &self,
        guest_token: &str,
        identity_token: &str,
    ) -> ApiResult<GuestSession> {
        let body = IdentifyGuestRequest { identity_token: identity_token.into() };
        let url = self.url(GUEST_IDENTITY_PATH);
        let request = self.http.post(url).bearer_auth(guest_token).json(&body);
        decode(request.send().await).await.map(|r| r.body)
    }

    /// `GET .../guests/conversations?{query}` (e.g. `before=cnv_1&limit=20`): the conversations
    /// of the guest's customer, newest first.
    pub async fn customer_conversations(
        &self,
        guest_token: &str,
        query: &str,
    ) -> ApiResult<ConversationPage> {
        let url = self.url(&format!("{GUEST_CONVERSATIONS_PATH}?{query}"));
        decode(self.http.get(url).bearer_auth(guest_token).send().await).await.map(|r| r.body)
    }

    /// `GET .../guests/conversations/{id}/messages?{query}`: the history of one of the guest's
    /// customer's conversations, paged as `guest_history`.
    pub async fn customer_history(
        &self,
        guest_token: &str,
        conversation_id: &str,
        query: &str,
    ) -> ApiResult<MessagePage> {
        let path = GUEST_CONVERSATION_MESSAGES_PATH.replace("{conversation_id}", conversation_id);
        let url = self.url(&format!("{path}?{query}"));
        decode(self.http.get(url).bearer_auth(guest_token).send().await).await.map(|r| r.body)
    }

    /// `POST .../deployments/{id}/customers/erasure` (client token, scope `erasure`): erases the
    /// customer `external_id` names (docs/identity.md, "Erasure").
    pub async fn erase_customer(
        &self,
        client_token: &str,
        deployment_id: &str,
        external_id: &str,
    ) -> ApiResult<CustomerErasure> {
        let body = EraseCustomerRequest { external_id: external_id.into() };
        let url = self.url(&CUSTOMER_ERASURE_PATH.replace("{deployment_id}", deployment_id));
        let request = self.http.post(url).bearer_auth(client_token).json(&body);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn agent_login(&self, name: &str, secret: &str) -> ApiResult<AgentSession> {
        let body = AgentLoginRequest { name: name.into(), secret: secret.into() };
        let request = self.http.post(self.url(AGENT_LOGIN_PATH)).json(&body);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn refresh_agent(&self, agent_token: &str) -> ApiResult<AgentSession> {
        let request = self.http.post(self.url(AGENT_TOKEN_PATH)).bearer_auth(agent_token);
        decode(request.send().await).await.map(|r| r.body)
    }

    pub async fn agent_conversations(
        &self,
        agent_token: &str,
        query: &str,
    ) -> ApiResult<ConversationList> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations?{query}"));
        decode(self.http.get(url).bearer_auth(agent_token).send().await).await.map(|r| r.body)
    }

    pub async fn agent_history(
        &self,
        agent_token: &str,
        conversation_id: &str,
        query: &str,
    ) -> ApiResult<MessagePage> {
        let url = self
            .url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/messages?{query}"));
        decode(self.http.get(url).bearer_auth(agent_token).send().await).await.map(|r| r.body)
    }

    /// `GET .../agent/conversations/{id}/customer?{query}`: the conversations of that
    /// conversation's customer, in the agent's queues.
    pub async fn agent_customer_conversations(
        &self,
        agent_token: &str,
        conversation_id: &str,
        query: &str,
    ) -> ApiResult<ConversationPage> {
        let url = self
            .url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/customer?{query}"));
        decode(self.http.get(url).bearer_auth(agent_token).send().await).await.map(|r| r.body)
    }

    pub async fn agent_send(
        &self,
        agent_token: &str,
        conversation_id: &str,
        client_message_id: &str,
        text: &str,
    ) -> ApiResult<WithStatus<SendMessageResponse>> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/messages"));
        let body = SendMessageRequest {
            client_message_id: client_message_id.into(),
            text: text.into(),
            choice: None,
        };
        decode(self.http.post(url).bearer_auth(agent_token).json(&body).send().await).await
    }

    /// `POST .../conversations/{id}/{action}` where action is `assign` or `close`.
    pub async fn agent_action(
        &self,
        agent_token: &str,
        conversation_id: &str,
        action: &str,
    ) -> ApiResult<Conversation> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/{action}"));
        decode(self.http.post(url).bearer_auth(agent_token).send().await).await.map(|r| r.body)
    }

    /// `POST .../agent/conversations/{id}/transfer`: to another agent or queue, with a note.
    pub async fn agent_transfer(
        &self,
        agent_token: &str,
        conversation_id: &str,
        request: &TransferRequest,
    ) -> ApiResult<Conversation> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/transfer"));
        let sent = self.http.post(url).bearer_auth(agent_token).json(request).send().await;
        decode(sent).await.map(|r| r.body)
    }

    /// `POST .../agent/conversations/{id}/close` with a body (a wrap-up code).
    pub async fn agent_close(
        &self,
        agent_token: &str,
        conversation_id: &str,
        request: &CloseRequest,
    ) -> ApiResult<Conversation> {
        let url = self.url(&format!("{AGENT_API_PREFIX}/conversations/{conversation_id}/close"));
        let sent = self.http.post(url).bearer_auth(agent_token).json(request).send().await;
        decode(sent).await.map(|r| r.body)
    }

    /// The underlying HTTP client, for tests that send deliberately odd requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Turns a response into its body, or into `ApiError::Http` with the documented error body.
pub async fn decode<T: DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
) -> ApiResult<WithStatus<T>> {
    let response = response.map_err(transport)?;
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.map_err(transport)?;
    if !(200..300).contains(&status) {
        let body = serde_json::from_slice(&bytes).ok();
        return Err(ApiError::Http { status, body, www_authenticate });
    }
    let body = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Decode(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
    Ok(WithStatus { status, body })
}

/// A failed exchange; a TLS failure says its cause and fix, not reqwest's "error sending request".
fn transport(error: reqwest::Error) -> ApiError {
    match TlsProblem::find(&error) {
        Some(problem) => {
            let url = error.url().map_or(String::new(), |u| format!("{u}: "));
            ApiError::Transport(format!("{url}{problem}"))
        }
        None => ApiError::Transport(error.to_string()),
    }
}
