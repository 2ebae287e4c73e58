//! Starting the emulator and controlling it from Rust tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::events::{self, EventDelivery, EventError};
use crate::faults::{Chaos, Fault};
use crate::limits::RateLimitConfig;
use crate::record::{RecordedCall, RecordedChange, RecordedMessage};
use crate::rotation::{InstalledBot, RefreshRecord};
use crate::seed::{BotTokenSeed, OAuthAppSeed, Seed};
use crate::state::{Shared, State, TokenStatus};
use crate::{api, control, oauth, web};

/// Entry point: `Emulator::start(Seed::demo()).await?`.
pub struct Emulator;

impl Emulator {
    /// Serves on 127.0.0.1 with an OS-chosen port, in a background task.
    pub async fn start(seed: Seed) -> std::io::Result<EmulatorHandle> {
        Self::bind(seed, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves on `addr` in a background task.
    pub async fn bind(seed: Seed, addr: SocketAddr) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{local_addr}/")).map_err(std::io::Error::other)?;
        let api_url = base_url.join("api/").map_err(std::io::Error::other)?;
        let authorize_url = base_url
            .join("oauth/v2/authorize")
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(State::from_seed(&seed)));
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "slack emulator stopped");
            }
        });
        Ok(EmulatorHandle {
            shared,
            local_addr,
            base_url,
            api_url,
            authorize_url,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(web::routes())
        .merge(api::routes())
        .merge(oauth::routes())
        .merge(control::routes())
        .with_state(shared)
}

/// A running emulator. Dropping it stops the server too.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    base_url: Url,
    api_url: Url,
    authorize_url: Url,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT/`
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/api/`, the Web API base (`OVICE_SLACK_API_BASE_URL`).
    pub fn api_url(&self) -> Url {
        self.api_url.clone()
    }

    /// `http://127.0.0.1:PORT/oauth/v2/authorize` (`OVICE_SLACK_AUTHORIZE_URL`).
    pub fn authorize_url(&self) -> Url {
        self.authorize_url.clone()
    }

    /// Later calls with this token get `token_revoked`. False when the token is unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.shared.lock().set_token_status(token, TokenStatus::Revoked)
    }

    /// Whether `token` was revoked (by `auth.revoke` or [`EmulatorHandle::revoke_token`]).
    pub fn is_token_revoked(&self, token: &str) -> bool {
        self.shared
            .lock()
            .tokens
            .get(token)
            .is_some_and(|t| t.status == TokenStatus::Revoked)
    }

    /// Later calls with this token get `account_inactive`. False when the token is unknown.
    pub fn deactivate_token(&self, token: &str) -> bool {
        self.shared.lock().set_token_status(token, TokenStatus::Inactive)
    }

    /// Installs another bot token into a workspace. False when the workspace is unknown.
    pub fn add_bot_token(&self, team_id: &str, bot: BotTokenSeed) -> bool {
        self.shared.lock().add_bot_token(team_id, &bot)
    }

    /// Installs the app `client_id`'s bot into a workspace, as its install page would: a rotating
    /// token with its refresh token when the app rotates tokens. `None` for an unknown app or team.
    pub fn install_bot(&self, client_id: &str, team_id: &str, scopes: &[&str]) -> Option<InstalledBot> {
        crate::api::install_bot(
            &mut self.shared.lock(),
            client_id,
            team_id,
            scopes,
            Instant::now(),
        )
    }

    /// Registers another Slack app (an org's own, say), replacing one with the same client id.
    pub fn add_app(&self, app: &OAuthAppSeed) {
        self.shared.lock().add_app(app);
    }

    /// How long rotating access tokens issued from now on live (Slack: 12 hours).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = lifetime;
    }

    /// Every live rotating token expires now; returns how many.
    pub fn expire_rotating_tokens(&self) -> usize {
        self.shared.lock().expire_rotating_tokens(Instant::now())
    }

    /// Every successful refresh (`oauth.v2.access` with `grant_type=refresh_token`), in order.
    pub fn refreshes(&self) -> Vec<RefreshRecord> {
        self.shared.lock().refreshes.clone()
    }

    /// Changes (or with `None` removes) a user's email. False when the user is unknown.
    pub fn set_user_email(&self, team_id: &str, user_id: &str, email: Option<&str>) -> bool {
        match self.shared.lock().user_mut(team_id, user_id) {
            Some(u) => {
                u.email = email.map(str::to_owned);
                true
            }
            None => false,
        }
    }

    /// Deactivates or reactivates a user. False when the user is unknown.
    pub fn set_user_deleted(&self, team_id: &str, user_id: &str, deleted: bool) -> bool {
        match self.shared.lock().user_mut(team_id, user_id) {
            Some(u) => {
                u.deleted = deleted;
                true
            }
            None => false,
        }
    }

    /// Sets an app's Request URL (Event Subscriptions). False when the app is unknown.
    pub fn set_event_url(&self, client_id: &str, url: &str) -> bool {
        let mut state = self.shared.lock();
        match state.apps.iter_mut().find(|a| a.client_id == client_id) {
            Some(app) => {
                app.event_url = Some(url.to_owned());
                true
            }
            None => false,
        }
    }

    /// Sends `event` (the inner object, e.g. `{"type":"app_uninstalled"}`) to the app's Request URL
    /// once, signed, in a fresh `event_callback` envelope; returns what the app answered.
    pub async fn send_event(
        &self,
        client_id: &str,
        team_id: &str,
        event: serde_json::Value,
    ) -> Result<EventDelivery, EventError> {
        events::send(&self.shared, client_id, team_id, event).await
    }

    /// Delivers an event already sent again, as Slack's retry does.
    pub async fn redeliver_event(&self, event_id: &str) -> Result<EventDelivery, EventError> {
        events::redeliver(&self.shared, event_id).await
    }

    /// A workspace admin removes the app: its tokens in the team stop working, and Slack sends
    /// `app_uninstalled` then `tokens_revoked` (when the app has a Request URL).
    pub async fn uninstall_app(
        &self,
        client_id: &str,
        team_id: &str,
    ) -> Result<Vec<EventDelivery>, EventError> {
        events::uninstall(&self.shared, client_id, team_id).await
    }

    /// A person removes the app's access: their tokens of it stop working, and Slack sends
    /// `tokens_revoked` (when the app has a Request URL).
    pub async fn revoke_user_access(
        &self,
        client_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<Option<EventDelivery>, EventError> {
        events::revoke_user_access(&self.shared, client_id, team_id, user_id).await
    }

    /// Changes a user's email and sends `user_change` to the apps that may hear of it. `None` when
    /// the user is unknown.
    pub async fn change_user_email(
        &self,
        team_id: &str,
        user_id: &str,
        email: &str,
    ) -> Option<Vec<EventDelivery>> {
        self.set_user_email(team_id, user_id, Some(email)).then_some(())?;
        Some(events::user_changed(&self.shared, team_id, user_id).await)
    }

    /// Deactivates a user (their tokens then answer `account_inactive`) and sends `user_change`
    /// with `deleted: true`. `None` when the user is unknown.
    pub async fn deactivate_user(&self, team_id: &str, user_id: &str) -> Option<Vec<EventDelivery>> {
        self.set_user_deleted(team_id, user_id, true).then_some(())?;
        Some(events::user_changed(&self.shared, team_id, user_id).await)
    }

    /// Registers another redirect URI for an OAuth app. False when the app is unknown.
    pub fn add_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        add_redirect_uri(&mut self.shared.lock(), client_id, uri)
    }

    /// How long new authorization codes live (Slack: 10 minutes).
    pub fn set_code_ttl(&self, ttl: Duration) {
        self.shared.lock().code_ttl = ttl;
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    pub fn set_chaos(&self, chaos: Chaos) {
        self.shared.lock().faults.chaos = chaos;
    }

    /// Drops pending faults and turns chaos off.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn set_rate_limits(&self, config: RateLimitConfig) {
        self.shared.lock().limiter.set_config(config);
    }

    /// The two members of a DM conversation (empty for an unknown id).
    pub fn dm_members(&self, channel: &str) -> Vec<String> {
        self.shared
            .lock()
            .ims
            .get(channel)
            .map(|im| im.members.to_vec())
            .unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<RecordedMessage> {
        self.shared.lock().messages.clone()
    }

    /// Every successful `chat.update` and `chat.delete`, in order.
    pub fn changes(&self) -> Vec<RecordedChange> {
        self.shared.lock().changes.clone()
    }

    /// Messages older than `window` can no longer be updated (`edit_window_closed`), as with a
    /// workspace's message editing setting; `None` lifts it.
    pub fn set_edit_window(&self, window: Option<Duration>) {
        self.shared.lock().edit_window = window;
    }

    pub fn clear_messages(&self) {
        self.shared.lock().messages.clear();
    }

    /// Every `/api/<method>` request so far, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Stops listening (later connections are refused) and waits for open connections to end.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            // Idle keep-alive connections close at once; a stuck one must not hang a test.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                abort.abort();
            }
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn add_redirect_uri(state: &mut State, client_id: &str, uri: &str) -> bool {
    match state.apps.iter_mut().find(|a| a.client_id == client_id) {
        Some(app) => {
            if !app.redirect_uris.iter().any(|u| u == uri) {
                app.redirect_uris.push(uri.to_owned());
            }
            true
        }
        None => false,
    }
}
