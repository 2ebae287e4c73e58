//! Renewing a rotating token by one replica at a time. Both token owners (integration-config for an
//! org's bot token, account-links for a person's user token) follow this one procedure; what differs
//! (where the lease and the token are stored, which Slack app renews it) is their `RenewalSubject`.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use ovice_slack_model::UnixMillis;
use ovice_slack_model::token_renewal::{LEASE, RenewWhy, Renewal, WAIT_FOR_OTHER};

/// How often a renewal asked for by a sender looks whether another replica's has finished.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// One rotating token, as its owner stores and renews it.
pub trait RenewalSubject: Clone + Send + Sync + 'static {
    type Error: Display + Send + 'static;

    /// `Some(outcome)` when nothing is to be renewed now (the token does not rotate, is not due, or
    /// its owner is not in use); `None` to claim the renewal.
    fn precheck(&self, why: RenewWhy) -> impl Future<Output = Result<Option<Renewal>, Self::Error>> + Send;
    /// Takes the renewal until `until` unless another replica holds it.
    fn claim(
        &self,
        now: UnixMillis,
        until: UnixMillis,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
    /// Lets go of this replica's claim (the one taken until `until`, not a later one) when the
    /// renewal stored nothing.
    fn release(&self, until: UnixMillis) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// The renewal itself, under the claim; stores the new token and lets go of the claim.
    fn renew_claimed(&self, why: RenewWhy) -> impl Future<Output = Result<Renewal, Self::Error>> + Send;
    /// The error for a renewal that could not be done now (another replica still holds it).
    fn unavailable(&self, detail: String) -> Self::Error;
}

/// Renews `subject`'s token unless another replica is doing so. `Due` (a worker) skips a token being
/// renewed elsewhere; `Expired` (a call met `token_expired`) waits for that renewal, then looks again.
pub async fn renew_one_at_a_time<S: RenewalSubject>(subject: S, why: RenewWhy) -> Result<Renewal, S::Error> {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(outcome) = subject.precheck(why).await? {
            return Ok(outcome);
        }
        let now = UnixMillis::now();
        let until = now.plus(LEASE);
        if subject.claim(now, until).await? {
            // In a task of its own: a caller that goes away (a cancelled RPC) must not stop a renewal
            // between Slack spending the refresh token and the new one being stored.
            let claimed = subject.clone();
            let task = tokio::spawn(async move {
                let result = claimed.renew_claimed(why).await;
                if !matches!(result, Ok(Renewal::Renewed))
                    && let Err(e) = claimed.release(until).await
                {
                    tracing::warn!(error = %e, "could not let go of a token renewal; it lapses by itself");
                }
                result
            });
            return match task.await {
                Ok(result) => result,
                Err(e) => Err(subject.unavailable(format!("the token renewal stopped: {e}"))),
            };
        }
        if why == RenewWhy::Due {
            return Ok(Renewal::Busy);
        }
        if started.elapsed() > WAIT_FOR_OTHER {
            return Err(subject.unavailable("another replica is still renewing the token".into()));
        }
        tokio::time::sleep(LOOK_AGAIN).await;
    }
}
