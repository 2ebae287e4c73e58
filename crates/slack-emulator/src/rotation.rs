//! Token rotation as Slack does it for an app that turned it on: access tokens (`xoxe.xoxb-1-…`,
//! `xoxe.xoxp-1-…`) that expire (12 hours unless a test shortens it), each issued with a refresh
//! token (`xoxe-1-…`) that renews it once through `oauth.v2.access` with
//! `grant_type=refresh_token`. A spent refresh token still works for a short grace period, then
//! never; an installation keeps at most two live access tokens, and a third revokes the oldest, so
//! a client that refreshes twice at once ends up holding a revoked token.

use std::time::{Duration, Instant};

use crate::state::{State, TokenInfo, TokenOwner, TokenStatus, random_hex};

/// Slack: "It will always expire in 43,200 seconds".
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// How long a spent refresh token is still honoured ("revoked after a short grace period").
pub const REFRESH_GRACE: Duration = Duration::from_secs(10);

/// Live access tokens one installation may hold at once.
const LIVE_TOKENS_PER_INSTALLATION: usize = 2;

/// A refresh token and the installation it renews.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub team_id: String,
    pub owner: TokenOwner,
    pub scopes: Vec<String>,
    /// When it was first spent.
    pub used_at: Option<Instant>,
}

impl RefreshGrant {
    fn usable(&self, now: Instant) -> bool {
        self.used_at.is_none_or(|used| now < used + REFRESH_GRACE)
    }
}

/// One successful refresh, for tests to count (a client that refreshes twice per expiry shows).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefreshRecord {
    pub team_id: String,
    pub token_kind: crate::record::TokenKind,
    /// The user the token acts as (the bot user for a bot token).
    pub user_id: String,
}

/// What installing a bot with an app gives (`oauth.v2.access`'s bot fields).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstalledBot {
    pub access_token: String,
    pub bot_user_id: String,
    /// Present when the app rotates tokens.
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
}

/// A freshly issued rotating token.
#[derive(Debug, Clone)]
pub struct Minted {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// Why a refresh is refused, as `oauth.v2.access` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefused {
    InvalidRefreshToken,
}

impl RefreshRefused {
    pub fn code(self) -> &'static str {
        match self {
            RefreshRefused::InvalidRefreshToken => "invalid_refresh_token",
        }
    }
}

impl State {
    /// Issues an expiring access token and its refresh token for the installation (client, team,
    /// owner), revoking the installation's oldest live token beyond two.
    pub fn mint_rotating(
        &mut self,
        client_id: &str,
        team_id: &str,
        owner: TokenOwner,
        scopes: Vec<String>,
        now: Instant,
    ) -> Minted {
        let prefix = match owner {
            TokenOwner::Bot { .. } => "xoxe.xoxb-1-",
            TokenOwner::User { .. } => "xoxe.xoxp-1-",
        };
        let access_token = format!("{prefix}{}", random_hex(24));
        let refresh_token = format!("xoxe-1-{}", random_hex(24));
        let lifetime = self.token_lifetime;
        let mut live: Vec<(Instant, String)> = self
            .tokens
            .iter()
            .filter(|(_, t)| {
                t.team_id == team_id
                    && t.owner == owner
                    && t.status == TokenStatus::Active
                    && t.expires_at.is_some_and(|at| now < at)
            })
            .filter_map(|(token, t)| t.expires_at.map(|at| (at, token.clone())))
            .collect();
        live.sort();
        let excess = (live.len() + 1).saturating_sub(LIVE_TOKENS_PER_INSTALLATION);
        for (_, oldest) in live.into_iter().take(excess) {
            self.set_token_status(&oldest, TokenStatus::Revoked);
        }
        self.tokens.insert(
            access_token.clone(),
            TokenInfo {
                team_id: team_id.to_owned(),
                scopes: scopes.clone(),
                owner: owner.clone(),
                status: TokenStatus::Active,
                expires_at: Some(now + lifetime),
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                team_id: team_id.to_owned(),
                owner,
                scopes,
                used_at: None,
            },
        );
        Minted {
            access_token,
            refresh_token,
            expires_in: lifetime.as_secs().max(1),
        }
    }

    /// Spends `refresh_token` of `client_id` for a new access token and refresh token.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        now: Instant,
    ) -> Result<(RefreshGrant, Minted), RefreshRefused> {
        let grant = self
            .refresh_tokens
            .get_mut(refresh_token)
            .filter(|g| g.client_id == client_id && g.usable(now))
            .ok_or(RefreshRefused::InvalidRefreshToken)?;
        grant.used_at.get_or_insert(now);
        let grant = grant.clone();
        let (token_kind, user_id) = match &grant.owner {
            TokenOwner::Bot { bot_user_id, .. } => (crate::record::TokenKind::Bot, bot_user_id.clone()),
            TokenOwner::User { user_id, .. } => (crate::record::TokenKind::User, user_id.clone()),
        };
        self.refreshes.push(RefreshRecord {
            team_id: grant.team_id.clone(),
            token_kind,
            user_id,
        });
        let minted = self.mint_rotating(
            client_id,
            &grant.team_id,
            grant.owner.clone(),
            grant.scopes.clone(),
            now,
        );
        Ok((grant, minted))
    }

    /// Every live expiring token expires now, as if the clock had jumped past their lifetime.
    /// Returns how many.
    pub fn expire_rotating_tokens(&mut self, now: Instant) -> usize {
        let mut expired = 0;
        for info in self.tokens.values_mut() {
            if let Some(at) = info.expires_at.as_mut()
                && now < *at
            {
                *at = now;
                expired += 1;
            }
        }
        expired
    }

    /// The installation's refresh tokens die with it (an uninstall, a person removing the app).
    pub fn drop_refresh_tokens(&mut self, team_id: &str, app_id: &str, user_id: Option<&str>) {
        let apps: Vec<String> = self
            .apps
            .iter()
            .filter(|a| a.app_id == app_id)
            .map(|a| a.client_id.clone())
            .collect();
        self.refresh_tokens.retain(|_, g| {
            let theirs = match (user_id, &g.owner) {
                (None, _) => true,
                (Some(u), TokenOwner::User { user_id, .. }) => u == user_id,
                (Some(_), TokenOwner::Bot { .. }) => false,
            };
            !(g.team_id == team_id && apps.contains(&g.client_id) && theirs)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;

    fn user_owner() -> TokenOwner {
        TokenOwner::User {
            user_id: "U0ALICE".into(),
            app_id: "A0OVICE".into(),
        }
    }

    #[test]
    fn a_refresh_token_works_once_plus_a_grace_period() {
        let mut state = State::from_seed(&Seed::demo());
        let now = Instant::now();
        let first = state.mint_rotating("c1", "T0ACME", user_owner(), vec!["chat:write".into()], now);
        assert!(first.access_token.starts_with("xoxe.xoxp-1-"));
        assert!(first.refresh_token.starts_with("xoxe-1-"));
        assert_eq!(first.expires_in, 43_200);
        assert!(state.refresh("other-client", &first.refresh_token, now).is_err());
        let (_, second) = state.refresh("c1", &first.refresh_token, now).unwrap();
        assert_ne!(second.access_token, first.access_token);
        // Within the grace period the spent token still works; after it, never.
        assert!(
            state
                .refresh("c1", &first.refresh_token, now + Duration::from_secs(1))
                .is_ok()
        );
        assert_eq!(
            state
                .refresh("c1", &first.refresh_token, now + REFRESH_GRACE)
                .err(),
            Some(RefreshRefused::InvalidRefreshToken)
        );
    }

    #[test]
    fn a_third_live_token_revokes_the_oldest() {
        let mut state = State::from_seed(&Seed::demo());
        let now = Instant::now();
        let a = state.mint_rotating("c1", "T0ACME", user_owner(), vec![], now);
        let b = state.mint_rotating(
            "c1",
            "T0ACME",
            user_owner(),
            vec![],
            now + Duration::from_millis(1),
        );
        assert_eq!(state.tokens[&a.access_token].status, TokenStatus::Active);
        let c = state.mint_rotating(
            "c1",
            "T0ACME",
            user_owner(),
            vec![],
            now + Duration::from_millis(2),
        );
        assert_eq!(state.tokens[&a.access_token].status, TokenStatus::Revoked);
        assert_eq!(state.tokens[&b.access_token].status, TokenStatus::Active);
        assert_eq!(state.tokens[&c.access_token].status, TokenStatus::Active);
    }

    #[test]
    fn expiring_marks_only_live_rotating_tokens() {
        let mut state = State::from_seed(&Seed::demo());
        let now = Instant::now();
        state.mint_rotating("c1", "T0ACME", user_owner(), vec![], now);
        assert_eq!(state.expire_rotating_tokens(now + Duration::from_secs(1)), 1);
        assert_eq!(state.expire_rotating_tokens(now + Duration::from_secs(2)), 0);
        assert!(state.tokens["xoxb-acme-good"].expires_at.is_none());
    }
}
