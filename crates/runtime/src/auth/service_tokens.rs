use std::sync::{Arc, Mutex};

use super::{Claims, SvcRole, TokenMinter};

/// Short-lived tokens with which a service calls its peers (svc_role `service`, no org: services act
/// for every org). Cached and renewed a while before they expire.
#[derive(Clone, Debug)]
pub struct ServiceTokens {
    minter: TokenMinter,
    subject: String,
    audience: String,
    cached: Arc<Mutex<Option<(String, i64)>>>,
}

const LIFETIME_SECS: i64 = 600;
const RENEW_BEFORE_SECS: i64 = 120;

impl ServiceTokens {
    pub fn new(minter: TokenMinter, subject: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            minter,
            subject: subject.into(),
            audience: audience.into(),
            cached: Arc::default(),
        }
    }

    pub fn bearer(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, exp)) = cached.as_ref()
            && *exp - RENEW_BEFORE_SECS > now
        {
            return Ok(format!("Bearer {token}"));
        }
        let exp = now + LIFETIME_SECS;
        let token = self.minter.mint(&Claims {
            sub: self.subject.clone(),
            org: None,
            email: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: Some(SvcRole::Service),
            exp,
            iat: Some(now),
            nbf: None,
            aud: self.audience.clone(),
        })?;
        *cached = Some((token.clone(), exp));
        Ok(format!("Bearer {token}"))
    }
}
