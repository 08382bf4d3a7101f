//! The clock's side of the lifecycle: fires durable timers when they fall due.
//!
//! Timers are rows the store rewrites with every session change, so they survive restarts: a
//! timer that fell due while the server was down fires on the next tick. Firing goes through
//! the same decide-and-commit path as any command, with the session's version checked, so a
//! timer fires at most once even if two schedulers see it (the loser's change conflicts, and
//! the domain refuses a clock command that no longer matches the session's deadline).

use std::time::Duration;

use screenhook_domain::{
    DeadlineKind, DomainError, Millis,
    session::{self, SessionCommand},
};
use screenhook_store::Timer;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError, commands::new_token};

/// Timers fired per store query.
const BATCH: u32 = 256;

impl Engine {
    /// Fires every timer due now (in each company's own time) and returns how many fired.
    /// Tests call this to run pending work on demand.
    pub async fn fire_due_timers(&self) -> Result<usize, EngineError> {
        let real_now = self.clock.now();
        let companies = self.store.companies().await?;
        // Sandbox companies may run ahead of real time: look as far ahead as the furthest one.
        let max_offset = companies.iter().map(|c| c.clock_offset.as_millis()).max().unwrap_or(0).max(0);
        let horizon = real_now.plus(Millis::from_millis(max_offset));
        let mut fired = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            let due = self.store.due_timers(horizon, BATCH).await?;
            let mut progressed = false;
            for timer in due {
                if !seen.insert((timer.session_id.clone(), timer.kind, timer.due)) {
                    continue;
                }
                progressed = true;
                let Some(company) = companies.iter().find(|c| c.id == timer.company_id) else { continue };
                let now = company.now(real_now);
                if timer.due > now {
                    continue;
                }
                match self.fire(&timer, company.sandbox, now).await {
                    Ok(true) => {
                        fired += 1;
                        // How late the timer fired, on its company's clock.
                        let lag = now.as_millis().saturating_sub(timer.due.as_millis());
                        metrics::histogram!("screenhook_timer_lag_seconds").record(lag as f64 / 1000.0);
                    }
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(session = %timer.session_id, kind = timer.kind.as_str(), %err, "timer failed; retrying on the next tick")
                    }
                }
            }
            if !progressed {
                return Ok(fired);
            }
        }
    }

    /// Fires one timer. `Ok(false)` when it was stale (the session moved on). At the time
    /// limit a sandbox's attempt is scored 0 at once; any other waits for the grader.
    async fn fire(&self, timer: &Timer, sandbox: bool, now: screenhook_domain::Timestamp) -> Result<bool, EngineError> {
        let report_token = new_token();
        let res = self
            .commit(|| async {
                let Some(session) = self.store.session(&timer.company_id, &timer.session_id).await? else {
                    return Ok((Default::default(), false));
                };
                let cmd = match timer.kind {
                    DeadlineKind::Expiry => SessionCommand::Expire,
                    DeadlineKind::TimeLimit => {
                        SessionCommand::TimeLimitReached(sandbox.then(|| self.submission_timeout(report_token.clone())))
                    }
                    DeadlineKind::IntegrityReview => SessionCommand::IntegrityReviewDue,
                };
                let change = session::decide(Some(&session), cmd, &self.ctx(), now)?.into_change();
                let wrote = !change.is_empty();
                Ok((change, wrote))
            })
            .await;
        match res {
            Ok((wrote, _)) => Ok(wrote),
            Err(EngineError::Refused(DomainError::TimerNotDue { .. } | DomainError::IllegalTransition { .. })) => {
                tracing::debug!(session = %timer.session_id, kind = timer.kind.as_str(), "stale timer ignored");
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Runs the scheduler until `shutdown`: fires due timers, then sleeps until the next one
    /// is due or `poll_interval` passes, whichever comes first.
    pub async fn run_scheduler(self, poll_interval: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.fire_due_timers().await {
                tracing::warn!(%err, "scheduler tick failed");
            }
            let sleep = match self.store.next_timer_due().await {
                Ok(Some(due)) => {
                    let wait = due.as_millis() - self.clock.now().as_millis();
                    poll_interval.min(Duration::from_millis(wait.max(1) as u64))
                }
                _ => poll_interval,
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }
}
