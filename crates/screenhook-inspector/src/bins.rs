//! The in-memory bins of this process: a bounded list of captured requests each, a
//! broadcast channel for live pages, and an expiry time.
//!
//! Bins live in the memory of the process that created them: with several processes behind
//! a load balancer, a bin's receiving URL must reach that process (sticky routing), and a
//! restart forgets every bin. That is the price of needing no storage for a test tool.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use rand::RngCore;
use screenhook_domain::Timestamp;
use tokio::sync::broadcast;

use screenhook_webhooks::check::ChecksSummary;

/// How many live-page messages may queue per subscriber before it skips ahead.
const BROADCAST_CAPACITY: usize = 64;

/// A bin id: 16 random bytes, hex. Unguessable, since the id is the only credential.
pub fn new_bin_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Which screenhook webhook sent a request, and whether its signatures hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderVerdict {
    /// No webhook of this server is configured with the URL the request came to.
    Unknown,
    /// A webhook has this URL but no secret, so nothing was signed.
    NoSecret { webhook_id: String },
    /// Checked against that webhook's secret (never shown).
    Checked { webhook_id: String, checks: ChecksSummary },
}

/// One request as the bin received it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// 1, 2, … per bin, in arrival order.
    pub seq: u64,
    pub received_at: Timestamp,
    pub method: String,
    /// What followed `/in` (maybe empty), with the query string.
    pub path: String,
    /// The URL a sender would have signed: the matching webhook's, else the public URL's.
    pub signed_url: String,
    pub source: Option<String>,
    pub headers: Vec<(String, String)>,
    /// At most the configured cap.
    pub body: Vec<u8>,
    pub truncated: bool,
    pub sender: SenderVerdict,
}

/// What a live page receives: the new request and the bin's dropped count.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub request: Arc<Captured>,
    pub dropped: u64,
}

/// A bin's public description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinInfo {
    pub id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The status the receiving URL answers.
    pub respond_with: u16,
    pub dropped: u64,
    pub kept: usize,
}

struct Bin {
    created_at: Timestamp,
    expires_at: Timestamp,
    respond_with: u16,
    requests: VecDeque<Arc<Captured>>,
    dropped: u64,
    next_seq: u64,
    arrivals: broadcast::Sender<Arrival>,
}

impl Bin {
    fn info(&self, id: &str) -> BinInfo {
        BinInfo {
            id: id.to_owned(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            respond_with: self.respond_with,
            dropped: self.dropped,
            kept: self.requests.len(),
        }
    }
}

/// Why a bin operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    #[error("no such bin: it never existed, was deleted, or expired")]
    NotFound,
    #[error("this server already holds {0} bins; try again when some have expired")]
    TooMany(usize),
}

/// Limits of the registry.
#[derive(Debug, Clone, Copy)]
pub struct BinLimits {
    pub ttl_ms: i64,
    pub max_requests: usize,
    pub max_bins: usize,
}

/// Every bin of this process.
pub struct Bins {
    limits: BinLimits,
    bins: Mutex<HashMap<String, Bin>>,
}

/// What to record, before the bin assigns its sequence number.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub received_at: Timestamp,
    pub method: String,
    pub path: String,
    pub signed_url: String,
    pub source: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub sender: SenderVerdict,
}

impl Bins {
    pub fn new(limits: BinLimits) -> Bins {
        Bins { limits, bins: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bin>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.bins.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops expired bins; their live pages see their streams end.
    fn sweep(bins: &mut HashMap<String, Bin>, now: Timestamp) {
        bins.retain(|_, bin| bin.expires_at > now);
    }

    pub fn create(&self, now: Timestamp, respond_with: u16) -> Result<BinInfo, BinError> {
        let mut bins = self.lock();
        Self::sweep(&mut bins, now);
        if bins.len() >= self.limits.max_bins {
            return Err(BinError::TooMany(self.limits.max_bins));
        }
        let id = new_bin_id();
        let bin = Bin {
            created_at: now,
            expires_at: Timestamp::from_millis(now.as_millis().saturating_add(self.limits.ttl_ms)),
            respond_with,
            requests: VecDeque::new(),
            dropped: 0,
            next_seq: 1,
            arrivals: broadcast::channel(BROADCAST_CAPACITY).0,
        };
        let info = bin.info(&id);
        bins.insert(id, bin);
        Ok(info)
    }

    /// Runs `f` on a live bin; an expired one is removed and reported as not found.
    fn with_bin<T>(&self, id: &str, now: Timestamp, f: impl FnOnce(&mut Bin) -> T) -> Result<T, BinError> {
        let mut bins = self.lock();
        match bins.get_mut(id) {
            Some(bin) if bin.expires_at > now => Ok(f(bin)),
            Some(_) => {
                bins.remove(id);
                Err(BinError::NotFound)
            }
            None => Err(BinError::NotFound),
        }
    }

    pub fn info(&self, id: &str, now: Timestamp) -> Result<BinInfo, BinError> {
        self.with_bin(id, now, |bin| bin.info(id))
    }

    /// Whether the bin is live, without touching it.
    pub fn exists(&self, id: &str, now: Timestamp) -> bool {
        self.info(id, now).is_ok()
    }

    pub fn set_status(&self, id: &str, now: Timestamp, respond_with: u16) -> Result<BinInfo, BinError> {
        self.with_bin(id, now, |bin| {
            bin.respond_with = respond_with;
            bin.info(id)
        })
    }

    pub fn delete(&self, id: &str, now: Timestamp) -> Result<(), BinError> {
        self.with_bin(id, now, |_| ())?;
        self.lock().remove(id);
        Ok(())
    }

    /// Keeps a request (dropping the oldest beyond the bound) and tells the live pages;
    /// returns the status to answer with.
    pub fn record(&self, id: &str, incoming: Incoming) -> Result<u16, BinError> {
        let max_requests = self.limits.max_requests;
        let now = incoming.received_at;
        let result = self.with_bin(id, now, |bin| {
            let captured = Arc::new(Captured {
                seq: bin.next_seq,
                received_at: incoming.received_at,
                method: incoming.method,
                path: incoming.path,
                signed_url: incoming.signed_url,
                source: incoming.source,
                headers: incoming.headers,
                body: incoming.body,
                truncated: incoming.truncated,
                sender: incoming.sender,
            });
            bin.next_seq += 1;
            bin.requests.push_back(Arc::clone(&captured));
            while bin.requests.len() > max_requests {
                bin.requests.pop_front();
                bin.dropped += 1;
            }
            // No live page is listening when this fails; nothing to do.
            let _ = bin.arrivals.send(Arrival { request: captured, dropped: bin.dropped });
            bin.respond_with
        });
        Self::sweep(&mut self.lock(), now);
        result
    }

    /// The kept requests, newest first, with the bin's description.
    pub fn requests(&self, id: &str, now: Timestamp) -> Result<(BinInfo, Vec<Arc<Captured>>), BinError> {
        self.with_bin(id, now, |bin| (bin.info(id), bin.requests.iter().rev().cloned().collect()))
    }

    pub fn subscribe(&self, id: &str, now: Timestamp) -> Result<broadcast::Receiver<Arrival>, BinError> {
        self.with_bin(id, now, |bin| bin.arrivals.subscribe())
    }
}
