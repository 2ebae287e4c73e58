//! Identity per docs/api.md §Identity: every call carries `authorization: Bearer <JWT>` minted by the platform.
//! The interceptor verifies it once and leaves a [`Caller`] in the request extensions; each RPC then
//! applies its policy, declared once in [`Rpc::policy`], with [`Caller::authorize`].

mod caller;
mod claims;
mod interceptor;
mod keys;
mod policy;
mod service_tokens;

pub use caller::{AccessDenied, Caller};
pub use claims::{Claims, OrgRole, SvcRole};
pub use interceptor::{AuthInterceptor, caller_of};
pub use keys::{JwtKeys, JwtKeysError, TokenMinter};
pub use ovice_slack_model::SpaceRole;
pub use policy::{PERM_INTEGRATIONS_MANAGE, Policy, Rpc, Scope};
pub use service_tokens::ServiceTokens;
