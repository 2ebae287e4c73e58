//! The rules of docs/product.md §2.1 in plain Rust: what a valid workspace domain is, and when a Slack token's
//! `auth.test` answer qualifies it as the org's bot token.

pub mod rotation;
mod signing_secret;
mod verification;
mod workspace;
mod workspace_domain;

pub use rotation::{RotationRefusal, check_rotation_fields};
pub use signing_secret::{SigningSecretRefusal, check_signing_secret};
pub use verification::{
    REQUIRED_BOT_SCOPES, TokenIdentity, TokenRefusal, VerifiedToken, advice_for, check_token_shape,
    is_rotating, rejection, verify_auth_test,
};
pub use workspace::{AuditAction, AuditEntry, AuditNote, Workspace, WorkspaceStatus};
pub use workspace_domain::WorkspaceDomain;
