//! Errors a person reads: the status keeps its English message (for logs and operators) and gains a
//! `google.rpc.LocalizedMessage` in the caller's language, which the platform shows as it is.

use ovice_slack_model::Language;
use tonic::Status;
use tonic_types::StatusExt;

/// `status` with `text` beside it as a `google.rpc.LocalizedMessage` in `language`; the other
/// details (field violations, retry info) are kept.
pub fn with_localized_message(status: Status, language: Language, text: String) -> Status {
    let mut details = status.get_error_details();
    details.set_localized_message(language.tag(), text);
    Status::with_error_details(status.code(), status.message(), details)
}

/// The field paths a `google.rpc.BadRequest` of `status` names, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}
