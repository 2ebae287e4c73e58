//! A message's life after it is published: edits, a delete, a read by the recipient. One rule says
//! what each does to a delivery in each state, so the outbox keeps one lifecycle per message:
//!
//! - before the send: an edit replaces the text (the send uses the newest), a delete or a read ends
//!   it SKIPPED (`deleted`, `read`) and nothing reaches Slack;
//! - after the send: an edit or a delete is what Slack still needs (`SlackChange`), done by the
//!   workers with the token that posted the message; a read changes nothing there;
//! - revisions arrive in any order and more than once: only a higher one counts, so each is applied
//!   at most once and the highest wins; a delete ends every edit still waiting.

use ovice_slack_model::{Language, UnixMillis, UserId, message_change::ChangeKind};

use super::{Delivery, DeliveryStatus, SkipReason};

/// What Slack still needs of a sent message; stored as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum SlackChange {
    /// `chat.update` to the newest revision.
    Update,
    /// `chat.delete`.
    Delete,
}

impl SlackChange {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A delivery's life after publishing (all unset for a message that never changed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageLife {
    /// The newest revision of the text known (0: as published).
    pub revision: i64,
    /// The revision Slack shows (SENT only).
    pub slack_revision: i64,
    pub deleted_at: Option<UnixMillis>,
    pub read_at: Option<UnixMillis>,
    /// Held until then by a preference of the recipient (`hold_reason`).
    pub held_until: Option<UnixMillis>,
    pub pending_change: Option<SlackChange>,
    pub change_due_at: UnixMillis,
    pub change_attempts: u32,
    /// Why Slack refused the last change (nothing is reposted).
    pub change_error: String,
    /// Why it waits or waited (`held_until`).
    pub hold_reason: Option<HoldReason>,
    /// The language Slack shows it in (SENT only).
    pub slack_language: Option<Language>,
    /// Sent in one digest message with others held with it (same `slack_ts`).
    pub in_digest: bool,
}

/// Why a pending delivery waits before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum HoldReason {
    /// The recipient's "only if unread after N seconds".
    Unread,
    /// The recipient's quiet hours.
    QuietHours,
}

impl HoldReason {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl MessageLife {
    /// Deleted in Slack after it was sent.
    pub fn removed_from_slack(&self, status: DeliveryStatus) -> bool {
        status == DeliveryStatus::Sent
            && self.deleted_at.is_some()
            && self.pending_change.is_none()
            && self.change_error.is_empty()
    }
}

/// What a change does to a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeEffect {
    /// Nothing new: an old or repeated revision, a second delete or read, a read of someone else, a
    /// read after the send, a change to a deleted message.
    Nothing,
    /// The delivery becomes this.
    Changed(Box<Delivery>),
}

/// What `change` does to `d` at `now`. `held`: a worker holds the row (its send may be under way, even
/// past its lease by our clock), so a delete or read only marks it; the worker's end settles it, or the
/// next claim skips it (`skip_before_send`).
pub fn apply_change(d: &Delivery, change: &ChangeKind, now: UnixMillis) -> ChangeEffect {
    if d.life.deleted_at.is_some() {
        return ChangeEffect::Nothing;
    }
    let held = d.status == DeliveryStatus::Pending && d.lease_owner.is_some();
    let mut next = d.clone();
    next.updated_at = now;
    match change {
        ChangeKind::Edit { revision, text } => {
            if *revision <= d.life.revision {
                return ChangeEffect::Nothing;
            }
            next.life.revision = *revision;
            match d.status {
                // Sent with the newest text (a held row's send posts what it read; its end sees the
                // higher revision and asks for an update).
                DeliveryStatus::Pending => next.text = text.clone(),
                // A digest shows who and where, not the text: Slack already shows what is true.
                DeliveryStatus::Sent if d.life.in_digest => next.life.slack_revision = *revision,
                DeliveryStatus::Sent => {
                    next.text = text.clone();
                    next.life.pending_change = Some(SlackChange::Update);
                    next.life.change_due_at = now;
                    next.life.change_attempts = 0;
                }
                // Never reached Slack: the text is only kept for an operator's retry.
                _ if !d.text.is_empty() => next.text = text.clone(),
                _ => {}
            }
        }
        ChangeKind::Delete => {
            next.life.deleted_at = Some(now);
            // Nothing of a deleted message is kept, not even who wrote it.
            next.text.clear();
            next.sender_name.clear();
            match d.status {
                DeliveryStatus::Pending if !held => skip(&mut next, SkipReason::Deleted),
                DeliveryStatus::Sent => {
                    next.life.pending_change = Some(SlackChange::Delete);
                    next.life.change_due_at = now;
                    next.life.change_attempts = 0;
                }
                _ => {}
            }
        }
        ChangeKind::Read { reader } => {
            if !is_recipient(d, reader) || d.life.read_at.is_some() || d.status != DeliveryStatus::Pending {
                return ChangeEffect::Nothing;
            }
            next.life.read_at = Some(now);
            if !held {
                next.text.clear();
                next.sender_name.clear();
                skip(&mut next, SkipReason::Read);
            }
        }
    }
    ChangeEffect::Changed(Box::new(next))
}

fn is_recipient(d: &Delivery, reader: &UserId) -> bool {
    d.recipient_user_id == *reader
}

fn skip(d: &mut Delivery, reason: SkipReason) {
    d.status = DeliveryStatus::Skipped;
    d.skip_reason = Some(reason);
    d.lease_owner = None;
    d.lease_until = None;
}

/// A claimed row deleted or read while it waited for its turn: the reason to skip it rather than
/// send it (the change came while another attempt held it).
pub fn skip_before_send(d: &Delivery) -> Option<SkipReason> {
    if d.life.deleted_at.is_some() {
        Some(SkipReason::Deleted)
    } else if d.life.read_at.is_some() {
        Some(SkipReason::Read)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatMessage, Sender, SpaceRole};

    fn t(ms: i64) -> UnixMillis {
        UnixMillis::from_millis(ms)
    }

    fn pending() -> Delivery {
        let message = ChatMessage {
            org_id: "o".into(),
            space_id: "s".into(),
            space_name: "S".into(),
            message_id: "m".into(),
            sent_at: t(1),
            sender: Sender {
                user_id: "alice".into(),
                display_name: "Alice".into(),
                role: SpaceRole::Member,
            },
            text: "v0".into(),
            mentions: vec![],
            link_url: None,
        };
        Delivery::accept("d1".into(), &message, &"bob".into(), t(1), String::new())
    }

    fn sent() -> Delivery {
        let mut d = pending();
        d.status = DeliveryStatus::Sent;
        d.text.clear();
        d
    }

    fn edit(revision: i64, text: &str) -> ChangeKind {
        ChangeKind::Edit {
            revision,
            text: text.into(),
        }
    }

    fn changed(effect: ChangeEffect) -> Delivery {
        match effect {
            ChangeEffect::Changed(d) => *d,
            ChangeEffect::Nothing => panic!("nothing changed"),
        }
    }

    #[test]
    fn an_edit_before_the_send_replaces_the_text_and_the_highest_revision_wins() {
        let d = changed(apply_change(&pending(), &edit(3, "v3"), t(2)));
        assert_eq!((d.text.as_str(), d.life.revision), ("v3", 3));
        assert_eq!(d.life.pending_change, None);
        assert_eq!(apply_change(&d, &edit(2, "v2"), t(3)), ChangeEffect::Nothing);
        assert_eq!(apply_change(&d, &edit(3, "v3"), t(3)), ChangeEffect::Nothing);
        assert_eq!(
            apply_change(&pending(), &edit(0, "v0"), t(3)),
            ChangeEffect::Nothing
        );
    }

    #[test]
    fn an_edit_after_the_send_asks_slack_for_one_update() {
        let d = changed(apply_change(&sent(), &edit(3, "v3"), t(2)));
        assert_eq!(d.life.pending_change, Some(SlackChange::Update));
        assert_eq!((d.text.as_str(), d.life.change_due_at), ("v3", t(2)));
        assert_eq!(apply_change(&d, &edit(2, "v2"), t(3)), ChangeEffect::Nothing);
    }

    #[test]
    fn a_delete_before_the_send_ends_it_and_after_asks_slack_and_ends_waiting_edits() {
        let d = changed(apply_change(&pending(), &ChangeKind::Delete, t(2)));
        assert_eq!(
            (d.status, d.skip_reason, d.text.as_str()),
            (DeliveryStatus::Skipped, Some(SkipReason::Deleted), "")
        );
        assert_eq!(d.sender_name, "");
        let edited = changed(apply_change(&sent(), &edit(1, "v1"), t(2)));
        let d = changed(apply_change(&edited, &ChangeKind::Delete, t(3)));
        assert_eq!(d.life.pending_change, Some(SlackChange::Delete));
        assert_eq!(
            (d.status, d.text.as_str(), d.sender_name.as_str()),
            (DeliveryStatus::Sent, "", "")
        );
        assert_eq!(apply_change(&d, &edit(2, "v2"), t(4)), ChangeEffect::Nothing);
        assert_eq!(apply_change(&d, &ChangeKind::Delete, t(4)), ChangeEffect::Nothing);
    }

    #[test]
    fn a_held_row_is_only_marked_and_skipped_when_claimed_again() {
        let mut held = pending();
        held.lease_owner = Some("w".into());
        held.lease_until = Some(t(100));
        let d = changed(apply_change(&held, &ChangeKind::Delete, t(2)));
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(skip_before_send(&d), Some(SkipReason::Deleted));
        // Even past its lease: the worker may still be posting; the next claim skips it.
        let d = changed(apply_change(&held, &ChangeKind::Delete, t(100)));
        assert_eq!(d.status, DeliveryStatus::Pending);
        // Nobody holding it: ended at once.
        let d = changed(apply_change(&pending(), &ChangeKind::Delete, t(100)));
        assert_eq!(d.status, DeliveryStatus::Skipped);
    }

    #[test]
    fn only_the_recipients_read_of_an_unsent_message_counts() {
        let stranger = ChangeKind::Read {
            reader: "carol".into(),
        };
        assert_eq!(apply_change(&pending(), &stranger, t(2)), ChangeEffect::Nothing);
        let bob = ChangeKind::Read { reader: "bob".into() };
        let d = changed(apply_change(&pending(), &bob, t(2)));
        assert_eq!(
            (d.status, d.skip_reason),
            (DeliveryStatus::Skipped, Some(SkipReason::Read))
        );
        assert_eq!((d.text.as_str(), d.sender_name.as_str()), ("", ""));
        assert_eq!(apply_change(&sent(), &bob, t(2)), ChangeEffect::Nothing);
    }
}
