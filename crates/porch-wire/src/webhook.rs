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
    /// `conversation.returned`, `conversation.closed`, `conversation.transferred` or
    /// `guest.identified` (`porch_core::webhook::EventType`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339, UTC, milliseconds).
    pub timestamp: String,
    pub data: WebhookData,
}

/// What an event is about. `message` is the log entry that is the event, without a transfer's
/// note (absent only for `conversation.created`, whose `guest` is there instead; `guest.identified`
/// has both).
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
    /// With `conversation.assigned`: the agent who took the conversation; with
    /// `conversation.transferred` to an agent: that agent.
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

/// `POST …/webhooks/{endpointId}/secret`: a new secret. The previous one keeps signing beside it
/// for `overlapMs`, at most (and by default) the operator's `webhook_secret_overlap_ms`; `0`
/// ends it at once (a leaked secret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateWebhookSecretRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_ms: Option<u64>,
}

/// The answer to a rotation: the new secret, shown this once, and until when the previous one
/// still signs (milliseconds since the epoch; now or earlier: it signs no more).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSecret {
    pub endpoint_id: String,
    pub secret: String,
    pub previous_secret_until_ms: i64,
}

/// A delivery out of attempts (docs/webhooks.md, "Dead letters").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadDelivery {
    /// The `webhook-id` it had and keeps on a replay.
    pub webhook_id: String,
    pub conversation_id: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub attempts: u32,
    /// Why its last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at_ms: i64,
}

/// `GET …/webhooks/{endpointId}/dead`: an endpoint's dead deliveries, oldest first, at most
/// `WEBHOOK_DEAD_LIST_MAX`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadDeliveryList {
    pub deliveries: Vec<DeadDelivery>,
}

/// `POST …/webhooks/{endpointId}/dead/replay`: how many dead deliveries are pending again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookReplay {
    pub replayed: u64,
}
