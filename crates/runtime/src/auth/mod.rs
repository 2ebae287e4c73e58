//! Identity per docs/api.md §Identity: every call carries `authorization: Bearer <JWT>`, minted by the
//! platform for people, itself and operators, or by one of ovice-slack's services with its own key for
//! its calls to the others ([`ServiceKey`]). The interceptor verifies it once and leaves a [`Caller`] in the request extensions; each RPC then
//! applies its policy, declared once in [`Rpc::policy`], with [`Caller::authorize`].

mod caller;
mod claims;
mod interceptor;
mod keys;
mod policy;
mod service_keys;
mod service_tokens;

pub use caller::{AccessDenied, Caller};
pub use claims::{Claims, OrgRole, SvcRole};
pub use interceptor::{AuthInterceptor, caller_of};
pub use keys::{JwtKeys, JwtKeysError, PlatformKeys, TokenMinter};
pub use ovice_slack_model::SpaceRole;
pub use policy::{PERM_INTEGRATIONS_MANAGE, Policy, Rpc, Scope};
pub use service_keys::{ServiceKey, ServiceKeyError, ServiceKeySet, jwks};
pub use service_tokens::ServiceTokens;
