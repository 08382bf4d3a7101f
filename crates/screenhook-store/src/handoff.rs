//! Fresh deliveries handed to this process's worker in memory, once their commit is durable.
//!
//! A store whose commits fan events out to deliveries can write the ready ones already leased
//! to this process (claim 1, for the worker's lease) and pass them over with their events, so
//! the common case never claims and never reads the event back. The lease is in the database:
//! what the worker does not finish (it stopped, the process died) is claimed again by any
//! process once the lease runs out, so nothing is lost and no other process sends it meanwhile.

use std::sync::Mutex;

use screenhook_domain::{Millis, Timestamp};
use tokio::sync::mpsc;

use crate::ClaimedDelivery;

/// Where a store sends what it leased to the local worker.
#[derive(Default)]
pub struct Handoff(Mutex<Option<(mpsc::UnboundedSender<Vec<ClaimedDelivery>>, Millis)>>);

impl Handoff {
    /// A worker listens from now on, holding what it is handed for `lease`; a second call
    /// replaces the first listener.
    pub fn register(&self, lease: Millis) -> mpsc::UnboundedReceiver<Vec<ClaimedDelivery>> {
        let (to, from) = mpsc::unbounded_channel();
        *self.0.lock().expect("not poisoned") = Some((to, lease));
        from
    }

    /// The lease to write into fresh deliveries, while a worker listens.
    pub fn lease(&self) -> Option<Millis> {
        let handoff = self.0.lock().expect("not poisoned");
        handoff.as_ref().filter(|(to, _)| !to.is_closed()).map(|(_, lease)| *lease)
    }

    /// Until when fresh deliveries are leased, while a worker listens. Wall-clock time, as for
    /// every lease: how long a process may hold a delivery is real time, whatever clock the
    /// companies run on.
    pub fn lease_until(&self) -> Option<Timestamp> {
        self.lease().map(|lease| wall_clock_now().plus(lease))
    }

    /// Hands committed deliveries over. A worker that went away in between leaves them leased;
    /// claims take them back when the lease ends.
    pub fn send(&self, deliveries: Vec<ClaimedDelivery>) {
        if deliveries.is_empty() {
            return;
        }
        if let Some((to, _)) = self.0.lock().expect("not poisoned").as_ref() {
            let _ = to.send(deliveries);
        }
    }
}

/// Real time, which leases are measured in.
pub fn wall_clock_now() -> Timestamp {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_millis(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_only_while_a_worker_listens() {
        let handoff = Handoff::default();
        assert_eq!(handoff.lease(), None, "nobody listens yet");
        let from = handoff.register(Millis::from_millis(30_000));
        assert_eq!(handoff.lease(), Some(Millis::from_millis(30_000)));
        drop(from);
        assert_eq!(handoff.lease(), None, "the worker went away: fresh deliveries stay claimable");
    }
}
