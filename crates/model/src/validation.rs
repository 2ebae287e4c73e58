//! Field validation at the receiving edge: violations collected per field, answered as one
//! INVALID_ARGUMENT with `google.rpc.BadRequest` details.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Collects field violations during validation; `into_result` turns them into one INVALID_ARGUMENT.
#[derive(Debug, Default)]
pub struct FieldViolations(Vec<(String, String)>);

impl FieldViolations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_status())
        }
    }

    pub fn into_status(self) -> Status {
        let message = self
            .0
            .iter()
            .map(|(f, d)| format!("{f}: {d}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut details = ErrorDetails::new();
        for (f, d) in &self.0 {
            details.add_bad_request_violation(f.clone(), d.clone());
        }
        Status::with_error_details(Code::InvalidArgument, message, details)
    }
}

/// One INVALID_ARGUMENT naming `field`.
pub fn invalid_field(field: &str, description: impl Into<String>) -> Status {
    let mut v = FieldViolations::new();
    v.add(field, description);
    v.into_status()
}

/// A required string field: trimmed, non-empty, at most `max` bytes.
pub fn required(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        v.add(field, "is required");
    } else if value.len() > max {
        v.add(field, format!("is longer than {max} bytes"));
    }
    value.to_owned()
}

/// An optional string field: trimmed, at most `max` bytes.
pub fn optional(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.len() > max {
        v.add(field, format!("is longer than {max} bytes"));
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn violations_become_bad_request_details() {
        let mut v = FieldViolations::new();
        let _ = required(&mut v, "org_id", "  ", 64);
        v.add("workspace_domain", "must look like acme");
        let status = v.into_result().unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("org_id: is required"));
        let br = status.get_error_details().bad_request().cloned().unwrap();
        assert_eq!(br.field_violations.len(), 2);
        assert_eq!(br.field_violations[1].field, "workspace_domain");
    }
}
