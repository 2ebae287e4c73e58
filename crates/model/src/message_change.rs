//! The one validation of a change to a published message (an edit, a delete, a read by the
//! recipient), applied where it enters the outbox (DeliveryService's ChangeDirectMessage). The
//! gateway forwards what the platform reported unchanged, so the rules live here only.

use ovice_slack_proto::v1 as pb;

use crate::{
    OrgId, UserId,
    publish::{MAX_ID, MAX_TEXT},
    validation::{FieldViolations, required},
};

/// One change to a published message, valid.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageChange {
    pub org_id: OrgId,
    pub message_id: String,
    pub kind: ChangeKind,
}

/// What changed.
#[derive(Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// New text; `revision` is at least 1 (the published text is revision 0).
    Edit {
        revision: i64,
        text: String,
    },
    Delete,
    /// Read by `reader` in ovice (only the recipient's read counts).
    Read {
        reader: UserId,
    },
}

impl ChangeKind {
    /// For logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            ChangeKind::Edit { .. } => "edit",
            ChangeKind::Delete => "delete",
            ChangeKind::Read { .. } => "read",
        }
    }
}

// The text is the person's private message: Debug shows only its length.
impl std::fmt::Debug for MessageChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("MessageChange");
        d.field("org_id", &self.org_id)
            .field("message_id", &self.message_id)
            .field("kind", &self.kind.name());
        match &self.kind {
            ChangeKind::Edit { revision, text } => {
                d.field("revision", revision).field("text_len", &text.len())
            }
            ChangeKind::Delete => &mut d,
            ChangeKind::Read { reader } => d.field("reader", reader),
        };
        d.finish()
    }
}

/// A change as it arrives, before validation: which field it came in, and its org for authorizing
/// the caller before anything else is looked at.
#[derive(Clone, Copy)]
pub enum ReportedChange<'a> {
    Edit(&'a pb::ChatMessageEdit),
    Delete(&'a pb::ChatMessageDelete),
    Read(&'a pb::ChatMessageRead),
}

impl<'a> ReportedChange<'a> {
    /// The change of DeliveryService's request (`None`: none was set).
    pub fn of_request(request: &'a pb::ChangeDirectMessageRequest) -> Option<Self> {
        use pb::change_direct_message_request::Change;
        Some(match request.change.as_ref()? {
            Change::Edit(e) => ReportedChange::Edit(e),
            Change::Delete(d) => ReportedChange::Delete(d),
            Change::Read(r) => ReportedChange::Read(r),
        })
    }

    /// The org it names, trimmed, as validation reads it.
    pub fn org(&self) -> &'a str {
        match self {
            ReportedChange::Edit(e) => e.org_id.trim(),
            ReportedChange::Delete(d) => d.org_id.trim(),
            ReportedChange::Read(r) => r.org_id.trim(),
        }
    }

    /// The message id it names, trimmed (echoed in answers).
    pub fn message_id(&self) -> &'a str {
        match self {
            ReportedChange::Edit(e) => e.message_id.trim(),
            ReportedChange::Delete(d) => d.message_id.trim(),
            ReportedChange::Read(r) => r.message_id.trim(),
        }
    }

    /// Back into DeliveryService's request, unchanged.
    pub fn to_request(self) -> pb::ChangeDirectMessageRequest {
        use pb::change_direct_message_request::Change;
        pb::ChangeDirectMessageRequest {
            change: Some(match self {
                ReportedChange::Edit(e) => Change::Edit(e.clone()),
                ReportedChange::Delete(d) => Change::Delete(d.clone()),
                ReportedChange::Read(r) => Change::Read(r.clone()),
            }),
        }
    }
}

/// Every problem is a field violation named by its path (`edit.revision`).
impl TryFrom<ReportedChange<'_>> for MessageChange {
    type Error = FieldViolations;

    fn try_from(change: ReportedChange<'_>) -> Result<Self, FieldViolations> {
        let mut v = FieldViolations::new();
        let (prefix, org_id, message_id) = match change {
            ReportedChange::Edit(e) => ("edit", &e.org_id, &e.message_id),
            ReportedChange::Delete(d) => ("delete", &d.org_id, &d.message_id),
            ReportedChange::Read(r) => ("read", &r.org_id, &r.message_id),
        };
        let org_id = OrgId::new(required(&mut v, &format!("{prefix}.org_id"), org_id, MAX_ID));
        let message_id = required(&mut v, &format!("{prefix}.message_id"), message_id, MAX_ID);
        let kind = match change {
            ReportedChange::Edit(e) => {
                if e.revision < 1 {
                    v.add(
                        "edit.revision",
                        "must be 1 or more (the published text is revision 0), growing with each edit",
                    );
                }
                if e.text.len() > MAX_TEXT {
                    v.add("edit.text", format!("is longer than {MAX_TEXT} bytes"));
                }
                ChangeKind::Edit {
                    revision: e.revision,
                    text: e.text.clone(),
                }
            }
            ReportedChange::Delete(_) => ChangeKind::Delete,
            ReportedChange::Read(r) => ChangeKind::Read {
                reader: UserId::new(required(&mut v, "read.reader_user_id", &r.reader_user_id, MAX_ID)),
            },
        };
        if !v.is_empty() {
            return Err(v);
        }
        Ok(MessageChange {
            org_id,
            message_id,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(change: ReportedChange<'_>) -> String {
        MessageChange::try_from(change)
            .unwrap_err()
            .into_status()
            .message()
            .to_owned()
    }

    #[test]
    fn an_edit_needs_ids_a_revision_above_zero_and_text_within_the_limit() {
        let edit = pb::ChatMessageEdit {
            org_id: " org-1 ".into(),
            message_id: "m1".into(),
            revision: 2,
            text: "new".into(),
        };
        let valid = MessageChange::try_from(ReportedChange::Edit(&edit)).unwrap();
        assert_eq!(valid.org_id.as_str(), "org-1");
        assert!(
            valid.kind
                == ChangeKind::Edit {
                    revision: 2,
                    text: "new".into()
                }
        );
        assert!(!format!("{valid:?}").contains("new"));
        let bad = pb::ChatMessageEdit {
            org_id: String::new(),
            message_id: "m".repeat(MAX_ID + 1),
            revision: 0,
            text: "x".repeat(MAX_TEXT + 1),
        };
        let message = violations(ReportedChange::Edit(&bad));
        for field in ["edit.org_id", "edit.message_id", "edit.revision", "edit.text"] {
            assert!(message.contains(field), "{message}");
        }
    }

    #[test]
    fn a_read_names_its_reader_and_a_delete_its_message() {
        let read = pb::ChatMessageRead {
            org_id: "o".into(),
            message_id: "m".into(),
            reader_user_id: " ".into(),
        };
        assert!(violations(ReportedChange::Read(&read)).contains("read.reader_user_id: is required"));
        let delete = pb::ChatMessageDelete {
            org_id: "o".into(),
            message_id: String::new(),
        };
        assert!(violations(ReportedChange::Delete(&delete)).contains("delete.message_id: is required"));
        let request = ReportedChange::Delete(&delete).to_request();
        assert!(matches!(
            ReportedChange::of_request(&request),
            Some(ReportedChange::Delete(d)) if d == &delete
        ));
        assert!(ReportedChange::of_request(&pb::ChangeDirectMessageRequest::default()).is_none());
    }
}
