//! Short-lived caches in front of a [`Directory`].

use std::{sync::Arc, time::Duration};

use moka::future::Cache;

use ovice_slack_model::{OrgId, SlackTeamId, UserId};

use super::{BotCredentials, Directory, PeerUnavailable, ResolvedUser};

/// Whether an answer may come from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Accept time: a few seconds old is fine.
    Cached,
    /// Send time: ask the services (and refresh the cache with the answer).
    Fresh,
}

#[derive(Clone)]
pub struct CachedDirectory {
    inner: Arc<dyn Directory>,
    credentials: Cache<OrgId, Option<BotCredentials>>,
    users: Cache<(OrgId, UserId), ResolvedUser>,
}

impl CachedDirectory {
    pub fn new(inner: Arc<dyn Directory>, ttl: Duration) -> Self {
        Self {
            inner,
            credentials: Cache::builder().max_capacity(10_000).time_to_live(ttl).build(),
            users: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
        }
    }

    pub async fn bot_credentials(
        &self,
        org_id: &OrgId,
        freshness: Freshness,
    ) -> Result<Option<BotCredentials>, PeerUnavailable> {
        if freshness == Freshness::Fresh {
            let answer = self.inner.bot_credentials(org_id).await?;
            self.credentials.insert(org_id.clone(), answer.clone()).await;
            return Ok(answer);
        }
        // Concurrent misses for one org share one peer call.
        let inner = self.inner.clone();
        let org = org_id.clone();
        self.credentials
            .try_get_with(org_id.clone(), async move { inner.bot_credentials(&org).await })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Who of `user_ids` is connected to the org's team `team_id`. Cached: from answers at most a
    /// TTL old, asked without user tokens. Fresh: asked with the tokens (the send path posts with
    /// them); the cache keeps the answer without them, so no token outlives the call.
    pub async fn resolve_users(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        user_ids: &[UserId],
        freshness: Freshness,
    ) -> Result<Vec<ResolvedUser>, PeerUnavailable> {
        let mut answers: Vec<Option<ResolvedUser>> = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            answers.push(match freshness {
                Freshness::Cached => self.users.get(&(org_id.clone(), id.clone())).await,
                Freshness::Fresh => None,
            });
        }
        let missing: Vec<UserId> = user_ids
            .iter()
            .zip(&answers)
            .filter(|(_, a)| a.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        if !missing.is_empty() {
            let with_tokens = freshness == Freshness::Fresh;
            let fetched = self
                .inner
                .resolve_users(org_id, team_id, &missing, with_tokens)
                .await?;
            for user in fetched {
                self.users
                    .insert((org_id.clone(), user.user_id.clone()), user.without_token())
                    .await;
                for (id, slot) in user_ids.iter().zip(answers.iter_mut()) {
                    if slot.is_none() && *id == user.user_id {
                        *slot = Some(user.clone());
                    }
                }
            }
        }
        Ok(user_ids
            .iter()
            .zip(answers)
            .map(|(id, a)| a.unwrap_or_else(|| ResolvedUser::not_connected(id)))
            .collect())
    }

    pub async fn report_workspace_token_invalid(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        // Forget first: even if the report fails, the next accept asks afresh.
        self.credentials.invalidate(org_id).await;
        self.inner
            .report_workspace_token_invalid(org_id, team_id, reason)
            .await
    }

    pub async fn report_user_token_invalid(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<(), PeerUnavailable> {
        self.users.invalidate(&(org_id.clone(), user_id.clone())).await;
        self.inner
            .report_user_token_invalid(org_id, user_id, reason)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{ConnectionState, StaticDirectory};

    fn o1() -> OrgId {
        OrgId::new("o1")
    }

    fn t1() -> SlackTeamId {
        SlackTeamId::new("T1")
    }

    #[tokio::test]
    async fn cached_answers_are_reused_and_fresh_ones_refresh_the_cache() {
        let source = Arc::new(StaticDirectory::new());
        source.set_workspace("o1", "T1", "xoxb-1");
        source.link_user("o1", "bob", "U0BOB", "T1", Some("xoxp-bob"));
        let dir = CachedDirectory::new(source.clone(), Duration::from_secs(60));
        let ids = ["bob", "carol", "bob"].map(UserId::new);

        assert!(
            dir.bot_credentials(&o1(), Freshness::Cached)
                .await
                .unwrap()
                .is_some()
        );
        let users = dir
            .resolve_users(&o1(), &t1(), &ids, Freshness::Cached)
            .await
            .unwrap();
        let states: Vec<_> = users.iter().map(|u| u.state).collect();
        assert_eq!(
            states,
            vec![
                ConnectionState::Connected,
                ConnectionState::NotConnected,
                ConnectionState::Connected
            ]
        );
        assert!(
            users[0].user_token.is_none(),
            "the accept path never holds a user token"
        );
        let calls = source.lookups();
        source.remove_workspace("o1");
        source.unlink_user("o1", "bob");
        // Within the TTL the cache answers, without asking.
        assert!(
            dir.bot_credentials(&o1(), Freshness::Cached)
                .await
                .unwrap()
                .is_some()
        );
        let again = dir
            .resolve_users(&o1(), &t1(), &ids, Freshness::Cached)
            .await
            .unwrap();
        assert!(again[0].connected_in(&t1()));
        assert_eq!(source.lookups(), calls);
        // Fresh asks, and the answer replaces the cached one.
        assert!(
            dir.bot_credentials(&o1(), Freshness::Fresh)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            dir.bot_credentials(&o1(), Freshness::Cached)
                .await
                .unwrap()
                .is_none()
        );
        let fresh = dir
            .resolve_users(&o1(), &t1(), &ids, Freshness::Fresh)
            .await
            .unwrap();
        assert!(!fresh[0].connected_in(&t1()));
        assert!(
            !dir.resolve_users(&o1(), &t1(), &ids, Freshness::Cached)
                .await
                .unwrap()[0]
                .connected_in(&t1())
        );
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_reports_forget_the_entry() {
        let source = Arc::new(StaticDirectory::new());
        source.set_workspace("o1", "T1", "xoxb-1");
        let dir = CachedDirectory::new(source.clone(), Duration::from_secs(60));
        source.set_unavailable(true);
        assert!(dir.bot_credentials(&o1(), Freshness::Cached).await.is_err());
        source.set_unavailable(false);
        assert!(
            dir.bot_credentials(&o1(), Freshness::Cached)
                .await
                .unwrap()
                .unwrap()
                .active
        );
        dir.report_workspace_token_invalid(&o1(), &t1(), "token_revoked")
            .await
            .unwrap();
        assert!(
            !dir.bot_credentials(&o1(), Freshness::Cached)
                .await
                .unwrap()
                .unwrap()
                .active
        );
    }
}
