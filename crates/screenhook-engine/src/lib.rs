//! The engine runs commands against the store: it loads the aggregates a decision needs,
//! asks the pure domain to decide, and commits the resulting change with its events in one
//! transaction, retrying when another decision committed first. It also owns the clock side:
//! the scheduler that fires durable timers (expiry, time limits, integrity reviews).
//!
//! # Layout
//! - [`clock`]: `Clock`, the system clock and a manual clock for tests.
//! - [`keys`]: issuing and checking API keys.
//! - [`bootstrap`]: the sandbox company a fresh installation starts with.
//! - [`certify_import`]: importing a Certify export ([`Engine::import_certify`]).
//! - `advisor`: the evidence behind the Certify transition's advice ([`Engine::certify_advice`]).
//! - [`commands`]: customer, candidate and proctor commands.
//! - [`scheduler`]: firing due timers.
//! - this file: [`Engine`] and [`EngineError`].

mod advisor;
pub mod bootstrap;
mod cache;
pub mod certify_import;
pub mod clock;
pub mod commands;
pub mod companies;
pub mod interviews;
pub mod keys;
pub mod scheduler;

use std::sync::Arc;

use screenhook_domain::{Change, DomainError, Millis, certify};
use screenhook_store::{Applied, Store, StoreError};

pub use clock::{Clock, ManualClock, SystemClock};
pub use commands::{InviteInput, SessionAction, SessionOutcome};

/// How often a decision is retried when another one committed first.
const MAX_CONFLICT_RETRIES: usize = 8;

/// Engine settings (a slice of the server configuration).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Base URL of this installation, for report and candidate links.
    pub public_url: String,
    /// How long after a non-proctored submission its integrity review is published.
    pub integrity_review_delay: Millis,
}

/// Why a command failed. Every variant changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The domain refused the command.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// The aggregate does not exist for this company (or at all: callers can't tell).
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
    /// The aggregate kept changing under the command; it may be retried.
    #[error("{0}; gave up after {MAX_CONFLICT_RETRIES} attempts")]
    Contended(StoreError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            err @ StoreError::Conflict { .. } => EngineError::Contended(err),
            other => EngineError::Store(other),
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<EngineConfig>,
    cache: Arc<cache::ReadCache>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: EngineConfig) -> Engine {
        Engine { store, clock, config: Arc::new(config), cache: Arc::default() }
    }

    /// The live key a bearer token stands for (see [`keys::authenticate`]), remembered for a
    /// second so a busy client does not cost a database read per request.
    pub async fn authenticate(&self, token: &str) -> Result<Option<screenhook_domain::ApiKey>, StoreError> {
        let hash = keys::secret_sha256(token);
        if let Some(key) = self.cache.key(&hash) {
            return Ok(Some(key));
        }
        let Some(key) = keys::authenticate(&*self.store, token).await? else {
            return Ok(None);
        };
        // A disabled company's keys are refused like unknown ones (within the caches' second).
        let active = match self.company(&key.company_id).await {
            Ok(company) => company.disabled_at.is_none(),
            Err(EngineError::Store(err) | EngineError::Contended(err)) => return Err(err),
            Err(_) => false,
        };
        if !active {
            return Ok(None);
        }
        self.cache.put_key(hash, key.clone());
        Ok(Some(key))
    }

    /// Revokes a key of `company` and stops this process trusting it at once.
    pub async fn revoke_api_key(
        &self,
        company: &screenhook_domain::CompanyId,
        public_id: &str,
        at: screenhook_domain::Timestamp,
    ) -> Result<bool, StoreError> {
        let revoked = self.store.revoke_api_key(company, public_id, at).await?;
        self.cache.forget_keys();
        Ok(revoked)
    }

    /// Loads, decides and commits, again and again while another decision commits first.
    /// `decide` must re-read what it decides on each time it is called.
    pub async fn commit<F, Fut, T>(&self, mut decide: F) -> Result<(T, Applied), EngineError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Change, T), EngineError>>,
    {
        let mut last_conflict = None;
        for _ in 0..MAX_CONFLICT_RETRIES {
            let (mut change, value) = decide().await?;
            add_legacy_events(&mut change);
            if change.is_empty() {
                return Ok((value, Applied::default()));
            }
            match self.store.apply(change).await {
                Ok(applied) => {
                    for event in &applied.events {
                        metrics::counter!("screenhook_events_fired_total", "event" => event.kind.name()).increment(1);
                    }
                    return Ok((value, applied));
                }
                Err(err @ StoreError::Conflict { .. }) => last_conflict = Some(err),
                Err(other) => return Err(EngineError::Store(other)),
            }
        }
        Err(EngineError::Contended(last_conflict.expect("the loop ran at least once")))
    }
}

/// Sessions of Certified Evaluations also fire the legacy Certify event each Pre-Screen event
/// converts to (the transition guide's conversion table, `certify::CONVERSION_TABLE`), right
/// after it, in the same transaction. Only webhooks subscribed to Certify names receive them,
/// so customers can migrate gradually.
fn add_legacy_events(change: &mut Change) {
    if change.events.is_empty() || change.sessions.iter().all(|(s, _)| s.framework_id.is_none()) {
        return;
    }
    let mut events = Vec::with_capacity(change.events.len() * 2);
    for event in change.events.drain(..) {
        let session = event.session_id.as_ref().and_then(|id| change.sessions.iter().find(|(s, _)| &s.id == id));
        let legacy = session.and_then(|(session, _)| certify::bridge(&event, session));
        events.push(event);
        events.extend(legacy);
    }
    change.events = events;
}
