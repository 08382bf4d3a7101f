//! Retention: finished deliveries, their attempts and the events no delivery needs are kept for
//! a configured time, then purged in the background in small batches, so the database stops
//! growing under steady load and writes never wait long behind a purge.

use std::{sync::Arc, time::Duration};

use screenhook_domain::{Clock, Millis, Timestamp};
use screenhook_store::{Purged, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Deliveries (or events) removed per transaction.
pub const PURGE_BATCH: u32 = 1_000;

/// Purges history older than `keep`, every `interval`, until `shutdown`.
pub struct Retention {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// How long finished deliveries and their events are kept.
    pub keep: Millis,
    pub interval: Duration,
}

impl Retention {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.purge_now().await {
                Ok(purged) if purged.deliveries + purged.events > 0 => tracing::info!(
                    deliveries = purged.deliveries,
                    attempts = purged.attempts,
                    events = purged.events,
                    "retention purged history"
                ),
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "retention could not purge; retrying later"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Purges everything older than the retention period, batch after batch; the total.
    pub async fn purge_now(&self) -> Result<Purged, StoreError> {
        let before = Timestamp::from_millis(self.clock.now().as_millis().saturating_sub(self.keep.as_millis()));
        let mut total = Purged::default();
        loop {
            let purged = self.store.purge_history(before, PURGE_BATCH).await?;
            total.deliveries += purged.deliveries;
            total.attempts += purged.attempts;
            total.events += purged.events;
            for (what, count) in
                [("deliveries", purged.deliveries), ("attempts", purged.attempts), ("events", purged.events)]
            {
                metrics::counter!("screenhook_retention_purged_total", "what" => what).increment(count);
            }
            if !purged.more_than(PURGE_BATCH) {
                return Ok(total);
            }
            // Let the API's writes go between batches.
            tokio::task::yield_now().await;
        }
    }
}
