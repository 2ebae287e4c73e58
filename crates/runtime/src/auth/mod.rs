//! Identity per docs/api.md §Identity: every call carries `authorization: Bearer <JWT>` minted by the platform.
//! The interceptor verifies it once and leaves a [`Caller`] in the request extensions; services decide
//! what that caller may do with the helpers on `Caller`.

mod caller;
mod claims;
mod interceptor;
mod keys;
mod service_tokens;

pub use caller::{AccessDenied, Caller};
pub use claims::{Claims, OrgRole, SvcRole};
pub use interceptor::{AuthInterceptor, caller_of};
pub use keys::{JwtKeys, JwtKeysError, TokenMinter};
pub use ovice_slack_model::SpaceRole;
pub use service_tokens::ServiceTokens;
