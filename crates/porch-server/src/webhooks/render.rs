//! The body of a delivery, rendered from the log. The outbox row names its entry; the entry and
//! the conversation's fixed fields never change, so every attempt sends the same bytes.

use porch_core::store::{PageRequest, Store, StoreError};
use porch_core::webhook::{Delivery, EventType};
use porch_wire::rest::{Conversation, Message, Participant, Role};
use porch_wire::webhook::{WebhookData, WebhookEvent};

/// The event of `delivery`, or `None` when what it names is gone from the store.
pub async fn body(store: &dyn Store, delivery: &Delivery) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(conversation) = store.conversation(&delivery.conversation_id).await? else {
        return Ok(None);
    };
    let message = match delivery.seq {
        0 => None,
        seq => {
            let page = PageRequest { after_seq: Some(seq - 1), before_seq: None, limit: 1 };
            let page = store.messages(&delivery.conversation_id, page).await?;
            match page.messages.into_iter().next().filter(|m| m.seq == seq) {
                Some(message) => Some(message),
                None => return Ok(None),
            }
        }
    };
    let mut event = event(&delivery.event_type, &conversation, message, delivery.agent_id.clone());
    // Where the conversation was at the event, not where it is at this attempt.
    if let Some(queue) = &delivery.queue {
        event.data.queue.clone_from(queue);
    }
    Ok(Some(to_bytes(&event)))
}

/// An event from its parts: `message` is the entry (none for `conversation.created`), without
/// its agents-only note; `guest` is there for `conversation.created` and `guest.identified`.
pub fn event(
    event_type: &str,
    conversation: &Conversation,
    message: Option<Message>,
    agent_id: Option<String>,
) -> WebhookEvent {
    let at_ms = message.as_ref().map_or(conversation.created_at_ms, |m| m.created_at_ms);
    // Who the guest is: when it arrives, and when it turns out to be a known customer.
    let with_guest = message.is_none() || event_type == EventType::GuestIdentified.as_str();
    let guest = with_guest.then(|| conversation.guest.clone());
    // A transfer's note is written for the next agent only (docs/webhooks.md says why).
    let message = message.map(|m| Message { note: None, ..m });
    WebhookEvent {
        event_type: event_type.to_owned(),
        timestamp: timestamp(at_ms),
        data: WebhookData {
            conversation_id: conversation.id.clone(),
            deployment_id: conversation.deployment_id.clone(),
            queue: conversation.queue.clone(),
            guest,
            message,
            agent_id,
        },
    }
}

/// What `porch webhooks test` sends: a `message.created` of a made-up conversation, with a
/// `webhook-id` of its own (`evt_test_…`) so a receiver never mistakes it for a real event.
pub fn sample(deployment_id: &str, now_ms: i64) -> (String, Vec<u8>) {
    let id = porch_core::ids::new_id("tst");
    let conversation_id = format!("cnv_{}", id.trim_start_matches("tst_"));
    let message = Message {
        id: format!("msg_{}", id.trim_start_matches("tst_")),
        conversation_id: conversation_id.clone(),
        seq: 1,
        client_message_id: Some("porch-webhooks-test".to_owned()),
        sender: Participant { role: Role::Guest, id: "gst_sample".to_owned(), display_name: None },
        text: "A test delivery from porch webhooks test".to_owned(),
        event: None,
        content: None,
        note: None,
        wrap_up: None,
        created_at_ms: now_ms,
        attachment: None,
        erased: false,
        reopened: false,
        fallback: false,
    };
    let event = WebhookEvent {
        event_type: EventType::MessageCreated.as_str().to_owned(),
        timestamp: timestamp(now_ms),
        data: WebhookData {
            conversation_id,
            deployment_id: deployment_id.to_owned(),
            queue: "test".to_owned(),
            guest: None,
            message: Some(message),
            agent_id: None,
        },
    };
    (format!("evt_test_{}", id.trim_start_matches("tst_")), to_bytes(&event))
}

fn to_bytes(event: &WebhookEvent) -> Vec<u8> {
    // Strings, numbers and maps of strings: serializing cannot fail.
    serde_json::to_vec(event).unwrap_or_default()
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(at_ms: i64) -> String {
    let seconds = porch_core::time::rfc3339(at_ms.div_euclid(1000));
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), at_ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_carry_milliseconds() {
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(timestamp(5), "1970-01-01T00:00:00.005Z");
    }
}
