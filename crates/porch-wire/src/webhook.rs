//! What a webhook delivery carries (docs/webhooks.md): the body of every event, in the shape
//! the Standard Webhooks specification suggests (`type`, `timestamp`, `data`), and the bodies of
//! the webhook endpoints API.

use serde::{Deserialize, Serialize};

use crate::rest::{Guest, Message};

/// The body of a delivery. Signed as sent; every attempt of one event sends the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEvent {
    /// `conversation.created`, `message.created`, `conversation.assigned`,
    /// `conversation.returned` or `conversation.closed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339, UTC, milliseconds).
    pub timestamp: String,
    pub data: WebhookData,
}

/// What an event is about. `message` is the log entry that is the event (absent only for
/// `conversation.created`, whose `guest` is there instead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookData {
    pub conversation_id: String,
    pub deployment_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<Guest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// With `conversation.assigned`: the agent who took the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// `POST …/deployments/{deploymentId}/webhooks`: a new endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// `https://…` (`http://` only where the operator allows it).
    pub url: String,
    /// The event types to deliver, at least one.
    pub event_types: Vec<String>,
}

/// An endpoint. `secret` is there only in the answer that creates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub id: String,
    pub deployment_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at_ms: i64,
    /// `whsec_…`: shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `GET …/deployments/{deploymentId}/webhooks`: the deployment's endpoints, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEndpointList {
    pub endpoints: Vec<WebhookEndpoint>,
}
