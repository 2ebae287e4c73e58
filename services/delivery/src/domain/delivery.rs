//! One direct message on its way to Slack, and the states it moves through:
//!
//! ```text
//! PENDING ──► SENT | SKIPPED | FAILED | DEAD | EXPIRED
//!    ▲                            │       │        │
//!    └──── RetryDelivery ─────────┴───────┴────────┘   (attempts from zero, a new retry window)
//! ```
//!
//! DEAD: transient failures ran out of attempts while Slack answered the org's other calls.
//! EXPIRED: not delivered within the retry window (however long Slack was down).

use ovice_slack_model::{DeliveryId, OrgId, UnixMillis, UserId};

use super::{ChatMessage, SkipReason, SpaceRole};

/// Stored as its snake_case name, like every enum of the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Skipped,
    Failed,
    Dead,
    Expired,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Everything but PENDING is an end state (until an operator retries FAILED or DEAD).
    pub fn is_final(self) -> bool {
        self != DeliveryStatus::Pending
    }

    /// Whether an operator may put it back to PENDING.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Failed | DeliveryStatus::Dead | DeliveryStatus::Expired
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryMode {
    /// Posted as the sender into the sender-recipient DM.
    AsSender,
    /// Sent by the org's app bot to the recipient.
    BotDm,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A row of the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    pub delivery_id: DeliveryId,
    pub org_id: OrgId,
    pub message_id: String,
    pub space_id: String,
    pub space_name: String,
    pub sender_user_id: UserId,
    /// Emptied with the text once the delivery is final.
    pub sender_name: String,
    pub sender_role: SpaceRole,
    pub recipient_user_id: UserId,
    /// Private: never logged, emptied once the delivery is final.
    pub text: String,
    pub link_url: String,
    pub sent_at: UnixMillis,
    pub status: DeliveryStatus,
    pub mode: Option<DeliveryMode>,
    pub attempts: u32,
    /// Attempts whose post Slack may have carried out although it answered with a failure (a 5xx,
    /// a reset or a timeout after the request was sent): each may have left a copy in Slack.
    pub ambiguous_attempts: u32,
    pub last_error: String,
    pub skip_reason: Option<SkipReason>,
    pub slack_channel_id: String,
    pub slack_ts: String,
    pub next_attempt_at: UnixMillis,
    pub lease_owner: Option<String>,
    pub lease_until: Option<UnixMillis>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// The retry window starts here: when it was accepted, or when an operator last retried it.
    pub window_started_at: UnixMillis,
    /// The W3C `traceparent` of the accepting call, so the send continues that trace.
    pub accepted_trace: String,
    /// Edits, a delete, a read after publishing.
    pub life: super::MessageLife,
}

impl Delivery {
    /// A new PENDING delivery of `message` to `recipient_user_id`, due at once.
    pub fn accept(
        delivery_id: DeliveryId,
        message: &ChatMessage,
        recipient_user_id: &UserId,
        now: UnixMillis,
        accepted_trace: String,
    ) -> Self {
        Self {
            delivery_id,
            org_id: message.org_id.clone(),
            message_id: message.message_id.clone(),
            space_id: message.space_id.clone(),
            space_name: message.space_name.clone(),
            sender_user_id: message.sender.user_id.clone(),
            sender_name: message.sender.display_name.clone(),
            sender_role: message.sender.role,
            recipient_user_id: recipient_user_id.clone(),
            text: message.text.clone(),
            link_url: message
                .link_url
                .as_ref()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default(),
            sent_at: message.sent_at,
            status: DeliveryStatus::Pending,
            mode: None,
            attempts: 0,
            ambiguous_attempts: 0,
            last_error: String::new(),
            skip_reason: None,
            slack_channel_id: String::new(),
            slack_ts: String::new(),
            next_attempt_at: now,
            lease_owner: None,
            lease_until: None,
            created_at: now,
            updated_at: now,
            window_started_at: now,
            accepted_trace,
            life: super::MessageLife::default(),
        }
    }
}

// Debug never shows the text or the sender's name.
impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("delivery_id", &self.delivery_id)
            .field("org_id", &self.org_id)
            .field("message_id", &self.message_id)
            .field("recipient_user_id", &self.recipient_user_id)
            .field("status", &self.status)
            .field("mode", &self.mode)
            .field("attempts", &self.attempts)
            .field("ambiguous_attempts", &self.ambiguous_attempts)
            .field("last_error", &self.last_error)
            .field("skip_reason", &self.skip_reason)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("lease_owner", &self.lease_owner)
            .field("lease_until", &self.lease_until)
            .field("text_len", &self.text.len())
            .field("life", &self.life)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn end_states_and_what_an_operator_may_retry() {
        for end in [Sent, Skipped, Failed, Dead, Expired] {
            assert!(end.is_final());
        }
        assert!(!Pending.is_final());
        assert!(Failed.is_retryable() && Dead.is_retryable() && Expired.is_retryable());
        assert!(!Sent.is_retryable() && !Skipped.is_retryable() && !Pending.is_retryable());
    }

    #[test]
    fn stored_names_round_trip() {
        for s in [Pending, Sent, Skipped, Failed, Dead, Expired] {
            assert_eq!(s.as_str().parse(), Ok(s));
        }
        assert_eq!(Dead.as_str(), "dead");
        for m in [DeliveryMode::AsSender, DeliveryMode::BotDm] {
            assert_eq!(m.as_str().parse(), Ok(m));
        }
        assert_eq!(DeliveryMode::BotDm.as_str(), "bot_dm");
        assert!("Pending".parse::<DeliveryStatus>().is_err());
    }

    #[test]
    fn debug_hides_the_text() {
        let message = ChatMessage {
            org_id: "o".into(),
            space_id: "s".into(),
            space_name: "S".into(),
            message_id: "m".into(),
            sent_at: UnixMillis::from_millis(1),
            sender: crate::domain::Sender {
                user_id: "a".into(),
                display_name: "Alice Secretname".into(),
                role: SpaceRole::Member,
            },
            text: "the secret plan".into(),
            mentions: vec![],
            link_url: None,
        };
        let d = Delivery::accept(
            "d1".into(),
            &message,
            &"b".into(),
            UnixMillis::from_millis(5),
            String::new(),
        );
        let shown = format!("{d:?} {message:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(d.status, Pending);
        assert_eq!(d.next_attempt_at, UnixMillis::from_millis(5));
    }
}
