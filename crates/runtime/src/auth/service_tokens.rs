use std::sync::{Arc, Mutex};

use super::{Claims, ServiceKey, SvcRole};

/// Short-lived tokens with which a service calls its peers (svc_role `service`, no org: services act
/// for every org), signed with the process's own [`ServiceKey`]. Cached and renewed a while before
/// they expire.
#[derive(Clone, Debug)]
pub struct ServiceTokens {
    key: ServiceKey,
    subject: String,
    audience: String,
    cached: Arc<Mutex<Option<(String, i64)>>>,
}

const LIFETIME_SECS: i64 = 600;
const RENEW_BEFORE_SECS: i64 = 120;

impl ServiceTokens {
    /// The subject is the one the key's id names (`ovice-slack/<targets>`): verifiers check it.
    pub fn new(key: ServiceKey, audience: impl Into<String>) -> Self {
        Self {
            subject: format!("ovice-slack/{}", key.targets()),
            key,
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
        let token = self.key.mint(&Claims {
            sub: self.subject.clone(),
            org: None,
            email: None,
            email_verified: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: Some(SvcRole::Service),
            exp,
            iat: Some(now),
            nbf: None,
            aud: self.audience.clone(),
            locale: None,
        })?;
        *cached = Some((token.clone(), exp));
        Ok(format!("Bearer {token}"))
    }
}
