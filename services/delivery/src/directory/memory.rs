//! An in-memory directory for tests and local trials: set up workspaces and links by hand; reports
//! are recorded and applied the way the real services apply them.

use std::{
    collections::HashMap,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use ovice_slack_model::{OrgId, SlackTeamId, UserId};
use secrecy::SecretString;

use super::{BotCredentials, ConnectionState, Directory, PeerUnavailable, ResolvedUser};

/// A report the directory received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    WorkspaceTokenInvalid {
        org_id: String,
        team_id: String,
        reason: String,
    },
    UserTokenInvalid {
        org_id: String,
        user_id: String,
        reason: String,
    },
}

#[derive(Default)]
struct World {
    workspaces: HashMap<String, BotCredentials>,
    users: HashMap<(String, String), ResolvedUser>,
    reports: Vec<Report>,
}

#[derive(Default)]
pub struct StaticDirectory {
    world: Mutex<World>,
    unavailable: AtomicBool,
    lookups: AtomicUsize,
}

impl StaticDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets up (or replaces) the org's workspace with an ACTIVE bot token.
    pub fn set_workspace(&self, org_id: &str, team_id: &str, bot_token: &str) {
        self.world().workspaces.insert(
            org_id.to_owned(),
            BotCredentials {
                team_id: team_id.into(),
                workspace_domain: team_id.to_lowercase(),
                bot_user_id: format!("{team_id}BOT").into(),
                bot_token: SecretString::from(bot_token.to_owned()),
                active: true,
            },
        );
    }

    pub fn remove_workspace(&self, org_id: &str) {
        self.world().workspaces.remove(org_id);
    }

    /// Links `user_id` to `slack_user_id` of `team_id`; with a user token it is CONNECTED.
    pub fn link_user(
        &self,
        org_id: &str,
        user_id: &str,
        slack_user_id: &str,
        team_id: &str,
        user_token: Option<&str>,
    ) {
        self.world().users.insert(
            (org_id.to_owned(), user_id.to_owned()),
            ResolvedUser {
                user_id: user_id.into(),
                state: ConnectionState::Connected,
                slack_user_id: slack_user_id.into(),
                slack_team_id: team_id.into(),
                user_token: user_token.map(|t| SecretString::from(t.to_owned())),
                preferences: Default::default(),
            },
        );
    }

    /// Sets a linked user's preferences (as AccountLinkService would return them).
    pub fn set_preferences(
        &self,
        org_id: &str,
        user_id: &str,
        preferences: ovice_slack_model::SlackPreferences,
    ) {
        if let Some(u) = self
            .world()
            .users
            .get_mut(&(org_id.to_owned(), user_id.to_owned()))
        {
            u.preferences = preferences;
        }
    }

    pub fn unlink_user(&self, org_id: &str, user_id: &str) {
        self.world()
            .users
            .remove(&(org_id.to_owned(), user_id.to_owned()));
    }

    /// While set, every call fails as if the services were down.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    pub fn reports(&self) -> Vec<Report> {
        self.world().reports.clone()
    }

    /// How many credential and user look-ups were answered.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    pub fn user_state(&self, org_id: &str, user_id: &str) -> ConnectionState {
        self.world()
            .users
            .get(&(org_id.to_owned(), user_id.to_owned()))
            .map_or(ConnectionState::NotConnected, |u| u.state)
    }

    pub fn workspace_active(&self, org_id: &str) -> Option<bool> {
        self.world().workspaces.get(org_id).map(|w| w.active)
    }

    fn check(&self) -> Result<(), PeerUnavailable> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PeerUnavailable {
                service: "StaticDirectory",
                detail: "set unavailable by the test".into(),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Directory for StaticDirectory {
    async fn bot_credentials(&self, org_id: &OrgId) -> Result<Option<BotCredentials>, PeerUnavailable> {
        self.check()?;
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Ok(self.world().workspaces.get(org_id.as_str()).cloned())
    }

    /// As AccountLinkService answers: links of another team are not connected, tokens only when
    /// asked for.
    async fn resolve_users(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        user_ids: &[UserId],
        with_tokens: bool,
    ) -> Result<Vec<ResolvedUser>, PeerUnavailable> {
        self.check()?;
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let world = self.world();
        Ok(user_ids
            .iter()
            .map(
                |id| match world.users.get(&(org_id.to_string(), id.to_string())) {
                    Some(u) if u.slack_team_id == *team_id && with_tokens => u.clone(),
                    Some(u) if u.slack_team_id == *team_id => u.without_token(),
                    _ => ResolvedUser::not_connected(id),
                },
            )
            .collect())
    }

    async fn report_workspace_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        self.check()?;
        let mut world = self.world();
        world.reports.push(Report::WorkspaceTokenInvalid {
            org_id: org_id.to_string(),
            team_id: team_id.to_string(),
            reason: reason.to_owned(),
        });
        if let Some(w) = world.workspaces.get_mut(org_id.as_str())
            && (team_id.is_empty() || w.team_id == *team_id)
        {
            w.active = false;
        }
        Ok(())
    }

    async fn report_user_token_invalid(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        self.check()?;
        let mut world = self.world();
        world.reports.push(Report::UserTokenInvalid {
            org_id: org_id.to_string(),
            user_id: user_id.to_string(),
            reason: reason.to_owned(),
        });
        if let Some(u) = world.users.get_mut(&(org_id.to_string(), user_id.to_string())) {
            u.state = ConnectionState::NeedsReconnect;
            u.user_token = None;
        }
        Ok(())
    }
}
