//! The emulator's in-memory world, behind one mutex: handlers are synchronous and short, so a
//! plain `std::sync::Mutex` held for the whole of one call keeps every answer consistent.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::faults::FaultPlan;
use crate::limits::RateLimiter;
use crate::record::{RecordedCall, RecordedMessage, TokenKind};
use crate::seed::{BotTokenSeed, Seed, UserSeed, WorkspaceSeed};

/// Slack's authorization codes live ten minutes.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(600);

/// The app id used when a seed names none.
pub const DEFAULT_APP_ID: &str = "A0EMULATOR";

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub real_name: Option<String>,
    pub email: Option<String>,
    pub deleted: bool,
    pub is_bot: bool,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub team_id: String,
    pub name: String,
    pub domain: String,
    pub users: Vec<User>,
}

impl Workspace {
    pub fn url(&self) -> String {
        format!("https://{}.slack.com/", self.domain)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    Bot {
        bot_id: String,
        bot_user_id: String,
        app_id: String,
    },
    User {
        user_id: String,
        app_id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    /// `token_revoked`
    Revoked,
    /// `account_inactive`
    Inactive,
}

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub team_id: String,
    pub scopes: Vec<String>,
    pub owner: TokenOwner,
    pub status: TokenStatus,
    /// Set for rotating tokens (`xoxe.…`): after it, every call is answered `token_expired`.
    pub expires_at: Option<Instant>,
}

impl TokenInfo {
    /// The user the token acts as (the bot user for bot tokens).
    pub fn user_id(&self) -> &str {
        match &self.owner {
            TokenOwner::Bot { bot_user_id, .. } => bot_user_id,
            TokenOwner::User { user_id, .. } => user_id,
        }
    }

    pub fn app_id(&self) -> &str {
        match &self.owner {
            TokenOwner::Bot { app_id, .. } | TokenOwner::User { app_id, .. } => app_id,
        }
    }

    pub fn kind(&self) -> TokenKind {
        match self.owner {
            TokenOwner::Bot { .. } => TokenKind::Bot,
            TokenOwner::User { .. } => TokenKind::User,
        }
    }

    pub fn bot_id(&self) -> Option<&str> {
        match &self.owner {
            TokenOwner::Bot { bot_id, .. } => Some(bot_id),
            TokenOwner::User { .. } => None,
        }
    }

    pub fn has_any_scope(&self, accepted: &[&str]) -> bool {
        accepted.iter().any(|a| self.scopes.iter().any(|s| s == a))
    }

    pub fn scopes_header(&self) -> String {
        self.scopes.join(",")
    }
}

#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub app_id: String,
    /// Signs every event request (Basic Information → Signing Secret).
    pub signing_secret: String,
    /// Event Subscriptions → Request URL; no events are sent without one.
    pub event_url: Option<String>,
    /// Token rotation is on: installs get expiring tokens with refresh tokens.
    pub token_rotation: bool,
}

/// An authorization code handed out by the Allow button.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    /// The redirect_uri named at authorize time; `None` when it was left out (Slack then only
    /// checks an exchange's redirect_uri against the app's configured ones).
    pub redirect_uri: Option<String>,
    pub team_id: String,
    pub user_id: String,
    pub user_scopes: Vec<String>,
    pub bot_scopes: Vec<String>,
    /// PKCE S256 challenge (base64url without padding).
    pub code_challenge: Option<String>,
    pub expires_at: Instant,
    pub used: bool,
}

/// A 1:1 direct message conversation.
#[derive(Debug, Clone)]
pub struct Im {
    pub team_id: String,
    pub members: [String; 2],
}

#[derive(Debug)]
pub struct State {
    pub workspaces: Vec<Workspace>,
    pub tokens: HashMap<String, TokenInfo>,
    pub apps: Vec<OAuthApp>,
    pub codes: HashMap<String, AuthCode>,
    pub code_ttl: Duration,
    pub ims: HashMap<String, Im>,
    /// Messages in Slack now (a deleted one is gone, as from Slack's history).
    pub messages: Vec<RecordedMessage>,
    /// Every successful `chat.update` and `chat.delete`.
    pub changes: Vec<crate::record::RecordedChange>,
    /// Messages older than this cannot be updated (`edit_window_closed`; a workspace setting in
    /// Slack, off unless a test asks).
    pub edit_window: Option<Duration>,
    pub calls: Vec<RecordedCall>,
    pub limiter: RateLimiter,
    pub faults: FaultPlan,
    /// Events sent to apps, for redelivery.
    pub events: Vec<crate::events::SentEvent>,
    /// Refresh tokens of rotating installations.
    pub refresh_tokens: HashMap<String, crate::rotation::RefreshGrant>,
    /// How long a rotating access token lives.
    pub token_lifetime: Duration,
    /// Every successful refresh, in order.
    pub refreshes: Vec<crate::rotation::RefreshRecord>,
    last_ts_micros: u64,
}

impl State {
    pub fn from_seed(seed: &Seed) -> State {
        let mut state = State {
            workspaces: Vec::new(),
            tokens: HashMap::new(),
            apps: Vec::new(),
            codes: HashMap::new(),
            code_ttl: DEFAULT_CODE_TTL,
            ims: HashMap::new(),
            messages: Vec::new(),
            changes: Vec::new(),
            edit_window: None,
            calls: Vec::new(),
            limiter: RateLimiter::new(seed.rate_limits),
            faults: FaultPlan::default(),
            events: Vec::new(),
            refresh_tokens: HashMap::new(),
            token_lifetime: crate::rotation::DEFAULT_TOKEN_LIFETIME,
            refreshes: Vec::new(),
            last_ts_micros: 0,
        };
        for ws in &seed.workspaces {
            state.add_workspace(ws);
        }
        for app in &seed.oauth_apps {
            state.add_app(app);
        }
        state
    }

    /// Registers a Slack app (replacing one with the same client id).
    pub fn add_app(&mut self, app: &crate::seed::OAuthAppSeed) {
        self.apps.retain(|a| a.client_id != app.client_id);
        self.apps.push(OAuthApp {
            client_id: app.client_id.clone(),
            client_secret: app.client_secret.clone(),
            redirect_uris: app.redirect_uris.clone(),
            app_id: app.app_id.clone().unwrap_or_else(|| DEFAULT_APP_ID.to_owned()),
            signing_secret: app.signing_secret.clone().unwrap_or_else(|| random_hex(16)),
            event_url: app.event_url.clone(),
            token_rotation: app.token_rotation,
        });
    }

    fn add_workspace(&mut self, ws: &WorkspaceSeed) {
        let users = ws.users.iter().map(|u| user_from_seed(&ws.team_id, u)).collect();
        self.workspaces.push(Workspace {
            team_id: ws.team_id.clone(),
            name: ws.name.clone(),
            domain: ws.domain.clone(),
            users,
        });
        for bot in &ws.bot_tokens {
            self.add_bot_token(&ws.team_id, bot);
        }
    }

    /// Registers a bot token (and its bot user, if new). False when the workspace is unknown.
    pub fn add_bot_token(&mut self, team_id: &str, bot: &BotTokenSeed) -> bool {
        let Some(ws) = self.workspaces.iter_mut().find(|w| w.team_id == team_id) else {
            return false;
        };
        if !ws.users.iter().any(|u| u.id == bot.bot_user_id) {
            ws.users.push(User {
                id: bot.bot_user_id.clone(),
                team_id: team_id.to_owned(),
                name: bot.bot_name.clone().unwrap_or_else(|| "bot".to_owned()),
                real_name: bot.bot_name.clone(),
                email: None,
                deleted: false,
                is_bot: true,
            });
        }
        let bot_id = bot.bot_id.clone().unwrap_or_else(|| {
            format!(
                "B{}",
                bot.bot_user_id.strip_prefix('U').unwrap_or(&bot.bot_user_id)
            )
        });
        self.tokens.insert(
            bot.token.clone(),
            TokenInfo {
                team_id: team_id.to_owned(),
                scopes: bot.scopes.clone(),
                owner: TokenOwner::Bot {
                    bot_id,
                    bot_user_id: bot.bot_user_id.clone(),
                    app_id: bot.app_id.clone().unwrap_or_else(|| DEFAULT_APP_ID.to_owned()),
                },
                status: TokenStatus::Active,
                expires_at: None,
            },
        );
        true
    }

    pub fn workspace(&self, team_id: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.team_id == team_id)
    }

    pub fn user(&self, team_id: &str, user_id: &str) -> Option<&User> {
        self.workspace(team_id)?.users.iter().find(|u| u.id == user_id)
    }

    pub fn user_mut(&mut self, team_id: &str, user_id: &str) -> Option<&mut User> {
        self.workspaces
            .iter_mut()
            .find(|w| w.team_id == team_id)?
            .users
            .iter_mut()
            .find(|u| u.id == user_id)
    }

    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn set_token_status(&mut self, token: &str, status: TokenStatus) -> bool {
        match self.tokens.get_mut(token) {
            Some(info) => {
                info.status = status;
                true
            }
            None => false,
        }
    }

    /// The stable DM id for an unordered pair of users, registering the conversation.
    /// Returns the id and whether it existed before.
    pub fn open_im(&mut self, team_id: &str, a: &str, b: &str) -> (String, bool) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let digest = Sha256::digest(format!("{team_id}|{lo}|{hi}").as_bytes());
        let id = format!("D{}", hex::encode_upper(&digest[..5]));
        let existed = self.ims.contains_key(&id);
        if !existed {
            self.ims.insert(
                id.clone(),
                Im {
                    team_id: team_id.to_owned(),
                    members: [lo.to_owned(), hi.to_owned()],
                },
            );
        }
        (id, existed)
    }

    /// A unique, increasing Slack timestamp (`seconds.micros`).
    pub fn next_ts(&mut self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.last_ts_micros = now.max(self.last_ts_micros + 1);
        format!(
            "{}.{:06}",
            self.last_ts_micros / 1_000_000,
            self.last_ts_micros % 1_000_000
        )
    }

    /// Drops expired codes so a long-running emulator does not grow without bound.
    pub fn purge_codes(&mut self, now: Instant) {
        // Keep expired codes a little longer than their life so a late exchange still gets a
        // precise answer; then forget them.
        let grace = self.code_ttl;
        self.codes.retain(|_, c| now < c.expires_at + grace);
    }
}

fn user_from_seed(team_id: &str, u: &UserSeed) -> User {
    User {
        id: u.id.clone(),
        team_id: team_id.to_owned(),
        name: u.name.clone(),
        real_name: u.real_name.clone(),
        email: u.email.clone(),
        deleted: u.deleted,
        is_bot: u.is_bot,
    }
}

/// Random lowercase hex of `bytes` random bytes, for codes and tokens.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The state plus the emulator's start time, shared by every handler.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    pub started: Instant,
}

impl Shared {
    pub fn new(state: State) -> Shared {
        Shared {
            state: Mutex::new(state),
            started: Instant::now(),
        }
    }

    /// A panic in one handler must not wedge the emulator for the rest of a test run.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn im_ids_are_stable_per_unordered_pair() {
        let mut state = State::from_seed(&Seed::demo());
        let (a, existed) = state.open_im("T0ACME", "U0ALICE", "U0BOB");
        assert!(!existed);
        let (b, existed) = state.open_im("T0ACME", "U0BOB", "U0ALICE");
        assert!(existed);
        assert_eq!(a, b);
        assert!(a.starts_with('D'));
        let (c, _) = state.open_im("T0ACME", "U0ALICE", "U0CAROL");
        assert_ne!(a, c);
    }

    #[test]
    fn timestamps_are_unique_and_increasing() {
        let mut state = State::from_seed(&Seed::demo());
        let mut last = String::new();
        for _ in 0..100 {
            let ts = state.next_ts();
            let (secs, micros) = ts.split_once('.').unwrap();
            assert_eq!(micros.len(), 6);
            assert!(secs.parse::<u64>().unwrap() > 1_600_000_000);
            assert!(ts.parse::<f64>().is_ok());
            assert!(ts > last);
            last = ts;
        }
    }

    #[test]
    fn bot_users_are_added_to_their_workspace() {
        let state = State::from_seed(&Seed::demo());
        let bot = state.user("T0ACME", "U0ACMEBOT").unwrap();
        assert!(bot.is_bot);
        assert_eq!(bot.name, "ovice");
        let info = &state.tokens["xoxb-acme-good"];
        assert_eq!(info.bot_id(), Some("B0ACMEBOT"));
        assert_eq!(info.app_id(), "A0OVICE");
    }
}
