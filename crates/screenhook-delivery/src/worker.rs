//! The delivery worker.
//!
//! The loop leases due deliveries — up to [`LEASED_PER_SLOT`] times as many as it may have
//! requests in flight, overall (`concurrency`) and per webhook (`per_webhook`; a webhook with its
//! share leased is left out of claims) — and queues them by webhook. Webhooks take turns for the
//! free request slots, each with at most `per_webhook` requests out, so a slow endpoint holds
//! only its own slots while other webhooks' deliveries go around it. Each request runs on its
//! own task; a recorder commits the outcomes in batches. The loop sleeps until the store signals
//! new work, a request finishes, or `poll_interval` passes (retries fall due by time alone).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use screenhook_domain::Clock;
use screenhook_domain::{Millis, Webhook, WebhookId};
use screenhook_store::{AttemptRecord, AttemptResult, ClaimedDelivery, HealthPolicy, Store, StoreError};
use screenhook_webhooks::{
    AttemptOutcome, DeliveryHeaderParams, NextStep, OutgoingRequest, RetryPolicy, Sender, delay_after_failure,
    delivery_headers, envelope_body, next_attempt,
};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// How many deliveries the worker (and each webhook) may have leased per request it may have
/// in flight. Above one, the next requests are already leased while the current ones are out,
/// so a busy endpoint never waits for the worker's next claim; the excess waits in memory.
pub const LEASED_PER_SLOT: usize = 4;

/// How long attempt results wait for others to be recorded with them.
const RECORD_LINGER: Duration = Duration::from_millis(5);

/// How long a webhook's configuration is reused before it is read again.
const WEBHOOK_TTL: Duration = Duration::from_secs(1);

type CachedWebhook = (Option<Arc<Webhook>>, Instant);

/// Worker settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Requests in flight at once, over all webhooks ([`LEASED_PER_SLOT`] times as many
    /// deliveries may be leased).
    pub concurrency: usize,
    /// Requests in flight at once to one webhook (and [`LEASED_PER_SLOT`] times as many leased).
    pub per_webhook: usize,
    /// How long a claimed delivery stays leased. Longer than the worst case of waiting for its
    /// webhook's slots plus its own request, so a live worker never loses its claim: a webhook
    /// has fewer than 2 × [`LEASED_PER_SLOT`] rounds of `per_webhook` requests leased (below its
    /// share before a claim, at most one share from the claim), each round at most the sender's
    /// total timeout — 8 rounds and one request of 10 s within the default 120 s.
    pub lease: Millis,
    /// The longest sleep between looks at the queue.
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
}

impl DeliveryConfig {
    /// How many deliveries the worker may hold leased at once.
    fn leased_overall(&self) -> usize {
        LEASED_PER_SLOT * self.concurrency
    }

    /// One webhook's share of them: at this many it is left out of claims.
    fn leased_per_webhook(&self) -> usize {
        LEASED_PER_SLOT * self.per_webhook
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            concurrency: 512,
            per_webhook: 64,
            lease: Millis::from_millis(120_000),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    sender: Sender,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
    /// Each webhook's configuration (None: deleted) and when it was read.
    webhooks: Mutex<HashMap<WebhookId, CachedWebhook>>,
    in_flight: Mutex<InFlight>,
    /// Results were recorded and their deliveries left `in_flight`: a claim may find room.
    released: Notify,
}

/// Leased deliveries waiting for a request slot, queued by webhook. Webhooks with something
/// waiting and a free slot take turns, so one webhook's backlog never stands in front of
/// another's, and a webhook never has more than `per_webhook` requests out.
#[derive(Default)]
struct Dispatch {
    waiting: HashMap<WebhookId, VecDeque<ClaimedDelivery>>,
    /// Exactly the webhooks with something waiting and fewer than `per_webhook` requests out.
    turns: VecDeque<WebhookId>,
    sending: HashMap<WebhookId, usize>,
    total_sending: usize,
}

impl Dispatch {
    fn push(&mut self, delivery: ClaimedDelivery, per_webhook: usize) {
        let webhook = delivery.webhook_id.clone();
        let waiting = self.waiting.entry(webhook.clone()).or_default();
        waiting.push_back(delivery);
        if waiting.len() == 1 && self.sending.get(&webhook).copied().unwrap_or(0) < per_webhook {
            self.turns.push_back(webhook);
        }
    }

    /// The next delivery to send, if a request slot is free and something waits for one; it
    /// counts as sending until [`Dispatch::finished`].
    fn next(&mut self, concurrency: usize, per_webhook: usize) -> Option<ClaimedDelivery> {
        if self.total_sending >= concurrency {
            return None;
        }
        let webhook = self.turns.pop_front()?;
        let waiting = self.waiting.get_mut(&webhook).expect("a webhook takes turns only while something waits");
        let delivery = waiting.pop_front().expect("a webhook takes turns only while something waits");
        let more = !waiting.is_empty();
        if !more {
            self.waiting.remove(&webhook);
        }
        let sending = self.sending.entry(webhook.clone()).or_default();
        *sending += 1;
        self.total_sending += 1;
        if more && *sending < per_webhook {
            self.turns.push_back(webhook);
        }
        Some(delivery)
    }

    /// Takes out everything waiting for `webhook`'s slots.
    fn take_waiting(&mut self, webhook: &WebhookId) -> Vec<ClaimedDelivery> {
        self.turns.retain(|w| w != webhook);
        self.waiting.remove(webhook).map(Vec::from).unwrap_or_default()
    }

    /// A request to `webhook` finished: its slot is free again.
    fn finished(&mut self, webhook: WebhookId, per_webhook: usize) {
        self.total_sending -= 1;
        let Some(sending) = self.sending.get_mut(&webhook) else { return };
        *sending -= 1;
        let was_at_cap = *sending + 1 == per_webhook;
        if *sending == 0 {
            self.sending.remove(&webhook);
        }
        if was_at_cap && self.waiting.contains_key(&webhook) {
            self.turns.push_back(webhook);
        }
    }
}

/// What became of a leased delivery, for the recorder.
enum Outcome {
    /// Attempted (`None`: its webhook is gone, and its queue with it).
    Attempted(Option<AttemptRecord>),
    /// Not attempted: the lease goes back to the store.
    GivenBack { delivery_id: i64, claim: i64 },
}

/// What a claim says about the due work it may have left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Left {
    /// Nothing, as far as this worker can tell: wait for a signal or the poll.
    Nothing,
    /// It was cut short by the batch size: claim again at once.
    More,
    /// It had no free slot (empty), or left out these webhooks at their cap: claim again once
    /// recorded results make room for one of them. (Claiming while they are all still at
    /// their cap would only walk past their whole backlog again to find nothing.)
    ForRoom(Vec<WebhookId>),
}

#[derive(Default)]
struct InFlight {
    total: usize,
    by_webhook: HashMap<WebhookId, usize>,
}

impl InFlight {
    fn of(&self, webhook: &WebhookId) -> usize {
        self.by_webhook.get(webhook).copied().unwrap_or(0)
    }
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, sender: Sender, clock: Arc<dyn Clock>, config: DeliveryConfig) -> Worker {
        let inner = Inner {
            store,
            sender,
            clock,
            config,
            webhooks: Mutex::default(),
            in_flight: Mutex::default(),
            released: Notify::new(),
        };
        Worker { inner: Arc::new(inner) }
    }

    /// Sends everything due now, records it, and repeats until nothing is due; returns the
    /// number of attempts made. Tests use it to run pending work on demand.
    pub async fn run_pending(&self) -> Result<usize, StoreError> {
        let mut attempts = 0;
        loop {
            let (claimed, _) = self.claim().await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let done: Vec<WebhookId> = claimed.iter().map(|c| c.webhook_id.clone()).collect();
            let tasks: Vec<_> = claimed
                .into_iter()
                .map(|delivery| {
                    let worker = self.clone();
                    tokio::spawn(async move { worker.attempt(delivery).await })
                })
                .collect();
            let mut records = Vec::with_capacity(tasks.len());
            for task in tasks {
                records.extend(task.await.expect("an attempt does not panic"));
            }
            self.inner.store.record_attempts(records, &self.health_policy()).await?;
            self.release(&done);
        }
    }

    /// Runs until `shutdown`, then lets the requests in flight finish and records them.
    pub async fn run(self, shutdown: CancellationToken) {
        let (records, to_record) = mpsc::unbounded_channel::<(WebhookId, Outcome)>();
        let recorder = tokio::spawn(self.clone().record_all(to_record));
        let signal = self.inner.store.work_signal();
        // Where the store hands fresh deliveries over in memory (single-process stores), they
        // arrive here already leased, with their events: no claim, no re-read.
        let mut handed_over = self.inner.store.local_deliveries(self.inner.config.lease);
        // Leased deliveries wait here for a request slot, so the number of tasks (each holding
        // a request's state) stays at `concurrency` however deep the backlog.
        let (config, mut queue) = (&self.inner.config, Dispatch::default());
        // (webhook, whether the attempt failed) for every finished request.
        let (finished, mut to_finish) = mpsc::unbounded_channel::<(WebhookId, bool)>();
        // A claim is a write: only look when something may be due — at start, when the store
        // says a commit left claimable work, on the poll, when the last claim came back full,
        // or when it left work out for lack of room and recorded results made some.
        let mut look = true;
        let mut waiting_for_room: Option<Vec<WebhookId>> = None;
        // One timer for the whole loop: restarted on every wake-up, it would never fire while
        // fresh deliveries keep the worker busy, and retries (due by time alone) would wait.
        let poll = tokio::time::sleep(config.poll_interval);
        tokio::pin!(poll);
        while !shutdown.is_cancelled() {
            while let Some(delivery) = queue.next(config.concurrency, config.per_webhook) {
                tokio::spawn(self.clone().send_one(delivery, records.clone(), finished.clone()));
            }
            if look {
                match self.claim().await {
                    Ok((claimed, left)) => {
                        look = left == Left::More;
                        waiting_for_room = match left {
                            Left::ForRoom(webhooks) => Some(webhooks),
                            Left::Nothing | Left::More => None,
                        };
                        if !claimed.is_empty() {
                            claimed.into_iter().for_each(|d| queue.push(d, config.per_webhook));
                            continue;
                        }
                    }
                    Err(err) => tracing::warn!(%err, "claiming deliveries failed; retrying when the worker next wakes"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(fresh) = async {
                    match handed_over.as_mut() {
                        Some(handoff) => handoff.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.count_in_flight(&fresh);
                    fresh.into_iter().for_each(|d| queue.push(d, config.per_webhook));
                }
                Some(first) = to_finish.recv() => {
                    for (webhook, failed) in std::iter::once(first).chain(std::iter::from_fn(|| to_finish.try_recv().ok())) {
                        finished_one(&mut queue, webhook, failed, &records, config.per_webhook);
                    }
                }
                () = signal.notified() => look = true,
                () = self.inner.released.notified(), if waiting_for_room.is_some() => {
                    look = self.has_room(waiting_for_room.as_deref().unwrap_or_default());
                }
                () = &mut poll => {
                    look = true;
                    poll.as_mut().reset(tokio::time::Instant::now() + config.poll_interval);
                }
            }
        }
        // Whatever is still waiting keeps its lease and goes out after a restart.
        drop(queue);
        // Requests in flight finish within the sender's timeout; their results are recorded.
        drop(records);
        if tokio::time::timeout(Duration::from_secs(30), recorder).await.is_err() {
            tracing::warn!(
                "delivery results still unrecorded at shutdown; their leases will expire and they will be retried"
            );
        }
    }

    /// The recorder: writes results as they come, a few milliseconds' worth at a time, until
    /// every sender is gone.
    async fn record_all(self, mut to_record: mpsc::UnboundedReceiver<(WebhookId, Outcome)>) {
        let mut batch = Vec::new();
        while to_record.recv_many(&mut batch, 1024).await > 0 {
            // Every record is a durable commit on the same writer as new events: let a few
            // milliseconds of results share one, so they do not delay ingestion.
            tokio::time::sleep(RECORD_LINGER).await;
            while batch.len() < 4096 {
                match to_record.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            self.record(std::mem::take(&mut batch)).await;
        }
    }

    /// One request: its result goes to the recorder, and its slot back to the loop.
    async fn send_one(
        self,
        delivery: ClaimedDelivery,
        records: mpsc::UnboundedSender<(WebhookId, Outcome)>,
        finished: mpsc::UnboundedSender<(WebhookId, bool)>,
    ) {
        let webhook = delivery.webhook_id.clone();
        let record = self.attempt(delivery).await;
        let failed = record.as_ref().is_some_and(|r| r.result != AttemptResult::Delivered);
        let _ = records.send((webhook.clone(), Outcome::Attempted(record)));
        let _ = finished.send((webhook, failed));
    }

    async fn record(&self, batch: Vec<(WebhookId, Outcome)>) {
        let done: Vec<WebhookId> = batch.iter().map(|(w, _)| w.clone()).collect();
        let mut records: Vec<AttemptRecord> = Vec::with_capacity(batch.len());
        let mut given_back = Vec::new();
        for (_, outcome) in batch {
            match outcome {
                Outcome::Attempted(record) => records.extend(record),
                Outcome::GivenBack { delivery_id, claim } => given_back.push((delivery_id, claim)),
            }
        }
        if !records.is_empty() {
            let policy = self.health_policy();
            let mut delay = Duration::from_millis(50);
            // A failed write is retried; if it never succeeds the leases expire and the
            // deliveries go out again (at-least-once), never lost.
            for _ in 0..5 {
                match self.inner.store.record_attempts(records.clone(), &policy).await {
                    Ok(()) => break,
                    Err(err) => {
                        tracing::warn!(%err, "recording delivery attempts failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                }
            }
        }
        // After the attempts, so a failure that pauses a webhook is durable before its
        // given-back deliveries are claimable. If this fails the leases simply run out.
        if let Err(err) = self.inner.store.release_deliveries(&given_back).await {
            tracing::warn!(%err, "could not give leased deliveries back; they are claimable when their lease ends");
        }
        self.release(&done);
    }

    fn release(&self, done: &[WebhookId]) {
        let mut in_flight = self.inner.in_flight.lock().expect("not poisoned");
        for webhook in done {
            in_flight.total = in_flight.total.saturating_sub(1);
            if let Some(n) = in_flight.by_webhook.get_mut(webhook) {
                *n -= 1;
                if *n == 0 {
                    in_flight.by_webhook.remove(webhook);
                }
            }
        }
        drop(in_flight);
        self.inner.released.notify_one();
    }

    /// Leases as many due deliveries as there are free slots, skipping webhooks at their cap.
    async fn claim(&self) -> Result<(Vec<ClaimedDelivery>, Left), StoreError> {
        let config = &self.inner.config;
        let (free, saturated) = {
            let in_flight = self.inner.in_flight.lock().expect("not poisoned");
            let saturated: Vec<WebhookId> = in_flight
                .by_webhook
                .iter()
                .filter(|(_, n)| **n >= config.leased_per_webhook())
                .map(|(w, _)| w.clone())
                .collect();
            (config.leased_overall().saturating_sub(in_flight.total), saturated)
        };
        if free == 0 {
            return Ok((Vec::new(), Left::ForRoom(Vec::new())));
        }
        let now = self.inner.clock.now();
        // No claim takes more than one webhook's leasing share: the oldest due work may all be
        // one webhook's backlog, and room must stay for the others. (It also bounds how long a
        // leased delivery can wait for its webhook's slots; see `DeliveryConfig::lease`.)
        let limit = free.min(config.leased_per_webhook()).clamp(1, 1024);
        let claimed = self.inner.store.claim_deliveries(now, config.lease, limit as u32, &saturated).await?;
        self.count_in_flight(&claimed);
        let left = if claimed.len() == limit {
            // More is due. If this claim filled every webhook it reached to its share, the next
            // one would only walk past their backlogs: wait until results make room instead.
            let mut reached: Vec<WebhookId> = claimed.iter().map(|c| c.webhook_id.clone()).collect();
            reached.sort();
            reached.dedup();
            let in_flight = self.inner.in_flight.lock().expect("not poisoned");
            if reached.iter().all(|w| in_flight.of(w) >= config.leased_per_webhook()) {
                Left::ForRoom(saturated.into_iter().chain(reached).collect())
            } else {
                Left::More
            }
        } else if !saturated.is_empty() {
            Left::ForRoom(saturated)
        } else {
            Left::Nothing
        };
        Ok((claimed, left))
    }

    /// Whether a claim now has a free slot and, if the last one left webhooks out at their cap,
    /// room under the cap of one of them.
    fn has_room(&self, left_out: &[WebhookId]) -> bool {
        let config = &self.inner.config;
        let in_flight = self.inner.in_flight.lock().expect("not poisoned");
        in_flight.total < config.leased_overall()
            && (left_out.is_empty() || left_out.iter().any(|w| in_flight.of(w) < config.leased_per_webhook()))
    }

    fn count_in_flight(&self, deliveries: &[ClaimedDelivery]) {
        let mut in_flight = self.inner.in_flight.lock().expect("not poisoned");
        for delivery in deliveries {
            in_flight.total += 1;
            *in_flight.by_webhook.entry(delivery.webhook_id.clone()).or_default() += 1;
        }
    }

    /// One attempt: sign, send, decide what follows. `None` when the webhook is gone (its
    /// queue was cancelled with it).
    async fn attempt(&self, delivery: ClaimedDelivery) -> Option<AttemptRecord> {
        let webhook = self.webhook(&delivery.webhook_id).await?;
        let event = &delivery.event;
        let now = self.inner.clock.now();
        let body = envelope_body(event.kind.name(), event.triggered_on.as_millis(), &event.payload.to_string());
        let retired_secrets: Vec<&str> = webhook.retired_secrets_in_force(now).map(|r| r.secret.as_str()).collect();
        let headers = delivery_headers(DeliveryHeaderParams {
            user_agent: &self.inner.sender.config().user_agent,
            url: &webhook.url,
            event: event.kind.name(),
            triggered_on_ms: event.triggered_on.as_millis(),
            webhook_id: event.id.as_str(),
            attempt_unix_secs: now.as_millis().div_euclid(1000),
            secret: webhook.secret.as_deref(),
            retired_secrets: &retired_secrets,
            body: &body,
            custom_headers: &webhook.custom_headers,
        });
        let report =
            self.inner.sender.send(OutgoingRequest { url: webhook.url.clone(), body: body.into(), headers }).await;
        let at = self.inner.clock.now();
        let result = if report.outcome.is_success() {
            AttemptResult::Delivered
        } else {
            let random = self.inner.config.retry.draw_random(&mut rand::rng());
            let fail_count = delivery.attempts + 1;
            match next_attempt(&self.inner.config.retry, fail_count, random, report.retry_after, report.status) {
                NextStep::RetryAfter(delay) => AttemptResult::RetryAt(at.plus(millis(delay))),
                NextStep::GiveUp => AttemptResult::GiveUp,
            }
        };
        let outcome = match result {
            AttemptResult::Delivered => "delivered",
            AttemptResult::RetryAt(_) => "retrying",
            AttemptResult::GiveUp => "failed",
        };
        metrics::counter!("screenhook_delivery_attempts_total", "outcome" => outcome).increment(1);
        metrics::histogram!("screenhook_delivery_attempt_duration_seconds").record(report.latency.as_secs_f64());
        let error_class = match report.outcome {
            AttemptOutcome::Failed(class) => Some(class.as_str().to_owned()),
            AttemptOutcome::Delivered | AttemptOutcome::Rejected { .. } => None,
        };
        let excerpt = match (&report.error, report.response_excerpt.is_empty()) {
            (Some(error), true) => error.clone(),
            _ => report.response_excerpt,
        };
        Some(AttemptRecord {
            delivery_id: delivery.delivery_id,
            claim: delivery.claim,
            webhook_id: delivery.webhook_id,
            at,
            status: report.status,
            error_class,
            latency_ms: report.latency.as_millis().min(u128::from(u32::MAX)) as u32,
            excerpt,
            result,
        })
    }

    /// The webhook's configuration, reused for [`WEBHOOK_TTL`].
    async fn webhook(&self, id: &WebhookId) -> Option<Arc<Webhook>> {
        if let Some((webhook, read_at)) = self.inner.webhooks.lock().expect("not poisoned").get(id)
            && read_at.elapsed() < WEBHOOK_TTL
        {
            return webhook.clone();
        }
        let webhook = match self.inner.store.webhook_unscoped(id).await {
            Ok(found) => found.map(|(webhook, _)| Arc::new(webhook)),
            Err(err) => {
                tracing::warn!(webhook = %id, %err, "could not read the webhook; the delivery will be retried");
                return None;
            }
        };
        self.inner.webhooks.lock().expect("not poisoned").insert(id.clone(), (webhook.clone(), Instant::now()));
        webhook
    }

    fn health_policy(&self) -> HealthPolicy {
        health_policy(&self.inner.config.retry, &mut rand::rng())
    }
}

/// The webhook health rules of the retry policy, with this batch's random draws: an unhealthy
/// webhook is probed on the retry schedule, so its n-th probe waits as the n-th retry would.
fn health_policy(retry: &RetryPolicy, rng: &mut impl rand::Rng) -> HealthPolicy {
    HealthPolicy {
        probe_delays: (1..=retry.disable_after_consecutive_failures.max(1))
            .map(|n| millis(delay_after_failure(n, retry.draw_random(rng))))
            .collect(),
        disable_after: retry.disable_after_consecutive_failures,
        email_after: retry.owner_email_after.clone(),
        email_every_from: retry.owner_email_every_from,
    }
}

fn millis(duration: Duration) -> Millis {
    Millis::from_millis(duration.as_millis().min(i64::MAX as u128) as i64)
}

/// A request to `webhook` finished: its slot frees up. A failure turns the webhook unhealthy,
/// so from now on it gets one probe at a time and what waits for it here is given back, not
/// sent. Through the recorder, so the failure (which pauses the webhook's queue) is durable
/// before these are claimable again.
fn finished_one(
    queue: &mut Dispatch,
    webhook: WebhookId,
    failed: bool,
    records: &mpsc::UnboundedSender<(WebhookId, Outcome)>,
    per_webhook: usize,
) {
    if failed {
        for d in queue.take_waiting(&webhook) {
            let given_back = Outcome::GivenBack { delivery_id: d.delivery_id, claim: d.claim };
            let _ = records.send((webhook.clone(), given_back));
        }
    }
    queue.finished(webhook, per_webhook);
}

#[cfg(test)]
mod tests {
    use screenhook_domain::{CompanyId, EventId, EventKind, Timestamp, WebhookId};
    use screenhook_store::{ClaimedDelivery, StoredEvent};

    use super::{Dispatch, health_policy};

    fn delivery(id: i64, webhook: &str) -> ClaimedDelivery {
        ClaimedDelivery {
            delivery_id: id,
            claim: 1,
            attempts: 0,
            webhook_id: WebhookId::parse(webhook).unwrap(),
            event: StoredEvent {
                seq: id,
                id: EventId::parse(format!("evt_{id}")).unwrap(),
                kind: EventKind::CompanyTestSessionCreated,
                triggered_on: Timestamp::from_millis(0),
                company_id: CompanyId::parse("acme").unwrap(),
                session_id: None,
                test_id: None,
                payload: serde_json::json!({}),
            },
            probe: false,
        }
    }

    fn drain(queue: &mut Dispatch, concurrency: usize, per_webhook: usize) -> Vec<(i64, String)> {
        std::iter::from_fn(|| queue.next(concurrency, per_webhook))
            .map(|d| (d.delivery_id, d.webhook_id.to_string()))
            .collect()
    }

    #[test]
    fn webhooks_take_turns_and_a_backlog_never_stands_in_front_of_another_webhook() {
        let mut queue = Dispatch::default();
        for id in 1..=5 {
            queue.push(delivery(id, "slow"), 2);
        }
        queue.push(delivery(6, "fast"), 2);
        queue.push(delivery(7, "fast"), 2);
        let sent = drain(&mut queue, 10, 2);
        let ids: Vec<i64> = sent.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 6, 2, 7], "turns alternate; each webhook stops at its cap of 2");
    }

    #[test]
    fn a_finished_request_frees_its_webhook_slot_and_the_overall_cap_holds() {
        let mut queue = Dispatch::default();
        for id in 1..=3 {
            queue.push(delivery(id, "a"), 1);
        }
        queue.push(delivery(4, "b"), 1);
        assert_eq!(drain(&mut queue, 1, 1), vec![(1, "a".to_owned())], "one request at a time overall");
        queue.finished(WebhookId::parse("a").unwrap(), 1);
        assert_eq!(drain(&mut queue, 1, 1), vec![(4, "b".to_owned())], "b's turn came before a's second");
        queue.finished(WebhookId::parse("b").unwrap(), 1);
        assert_eq!(drain(&mut queue, 2, 1), vec![(2, "a".to_owned())], "a is at its cap of 1 again");
        queue.finished(WebhookId::parse("a").unwrap(), 1);
        assert_eq!(drain(&mut queue, 2, 1), vec![(3, "a".to_owned())]);
        queue.finished(WebhookId::parse("a").unwrap(), 1);
        assert!(drain(&mut queue, 2, 1).is_empty());
        assert_eq!(queue.total_sending, 0);
        assert!(queue.sending.is_empty() && queue.waiting.is_empty() && queue.turns.is_empty());
    }

    #[test]
    fn a_failing_webhooks_waiting_deliveries_can_be_taken_out() {
        let mut queue = Dispatch::default();
        for id in 1..=3 {
            queue.push(delivery(id, "dead"), 1);
        }
        queue.push(delivery(4, "alive"), 1);
        assert_eq!(drain(&mut queue, 10, 1), vec![(1, "dead".to_owned()), (4, "alive".to_owned())]);
        let dead = WebhookId::parse("dead").unwrap();
        let taken: Vec<i64> = queue.take_waiting(&dead).iter().map(|d| d.delivery_id).collect();
        assert_eq!(taken, vec![2, 3]);
        queue.finished(dead, 1);
        assert!(drain(&mut queue, 10, 1).is_empty(), "nothing of the dead webhook goes out any more");
        assert!(queue.turns.is_empty() && queue.waiting.is_empty());
    }

    /// CodeSignal's documented policy through the one health rule: owners hear after the 5th and
    /// 14th consecutive failure and after every one from the 16th; the 25th disables the webhook.
    #[test]
    fn codesignals_policy_emails_and_disables_as_documented() {
        let policy = health_policy(&screenhook_webhooks::RetryPolicy::default(), &mut rand::rng());
        let attempt = screenhook_store::AttemptRecord {
            delivery_id: 1,
            claim: 1,
            webhook_id: WebhookId::parse("wh_1").unwrap(),
            at: Timestamp::from_millis(0),
            status: Some(500),
            error_class: None,
            latency_ms: 1,
            excerpt: String::new(),
            result: screenhook_store::AttemptResult::GiveUp,
        };
        let (mut state, mut emailed, mut disabled_at) = (screenhook_domain::WebhookState::Active, vec![], None);
        for held in 0..25 {
            let outcome = policy.after_failure(state, held, true, &attempt).expect("a probe counts");
            state = outcome.health.state;
            let failures = outcome.health.consecutive_failures;
            if outcome.owner_email.is_some() {
                emailed.push(failures);
            }
            if state == screenhook_domain::WebhookState::Disabled && disabled_at.is_none() {
                disabled_at = Some(failures);
            }
        }
        assert_eq!(emailed, [5, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
        assert_eq!(disabled_at, Some(25));
    }
}
