//! The end-to-end simulator: drives every path of the lifecycle table ([`lifecycle::PATHS`])
//! and a live interview over HTTP against a running screenhook — this one or a remote one —
//! and checks that each path's notifications were delivered, in order, with both signatures.
//!
//! For each path it invites a fresh candidate (a unique email, `externalId`
//! `screenhook-simulate:<path>`), acts as the candidate through the invitation link and as the
//! proctor through the API key, advances the sandbox clock to reach expiry, and after every
//! step waits (polling, with a deadline) for that step's notification. Paths run one after the
//! other: advancing the clock for one path would otherwise expire another's invitation.
//!
//! The live interview path ([`LIVE_INTERVIEW`]) is not a test session: it schedules an
//! interview for a fresh candidate, starts and finishes it as the interview room would, then
//! records the interviewer's feedback, waiting for `liveInterviewFinished` and
//! `liveInterviewFeedbackUpdated`.
//!
//! Deliveries are observed in one of two ways:
//! - by default, in an inspector bin created on the server, with a webhook for all 20 events
//!   pointing at it: every request is read back and both signatures are checked with the
//!   webhook's secret;
//! - with [`SimOptions::webhook_url`], the webhook points at that URL instead, and deliveries
//!   are read from the delivery log (`webhookDeliveries`, in the order they completed); the
//!   requests themselves are not visible there, so signatures are not checked. The log does
//!   not say which interview a delivery is about: the live interview path counts the
//!   webhook's live-interview deliveries, so run no other interview in the company meanwhile.
//!
//! The webhook is deleted at the end, whatever happened; the bin is kept (its page shows what
//! arrived) until it expires.
//!
//! # Layout
//! - [`client`]: the HTTP calls.

mod client;

use std::{collections::HashMap, time::Duration};

use screenhook_domain::{
    EventKind,
    lifecycle::{Act, PATHS, Path, Target},
};
use screenhook_webhooks::check::{Delivery, check};
use screenhook_webhooks::signature::DEFAULT_TOLERANCE_SECS;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::client::{Client, text, unexpected};

/// How often deliveries are looked for while waiting: about ten requests a second, well
/// within the API's rate limit.
const POLL: Duration = Duration::from_millis(150);

/// What to simulate, where.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The server, e.g. `http://127.0.0.1:8740`.
    pub base_url: String,
    /// A key of a sandbox company with every permission (customer, `admin` and `proctor`;
    /// `admin` also allows live interviews).
    pub api_key: String,
    /// A receiver of your own for every event; by default an inspector bin on the server.
    pub webhook_url: Option<String>,
    /// Names of the paths to run (see [`path_names`]); empty runs all eight.
    pub paths: Vec<String>,
    /// How long to wait for each step's notification before calling it missing.
    pub step_timeout: Duration,
}

impl SimOptions {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> SimOptions {
        SimOptions {
            base_url: base_url.into(),
            api_key: api_key.into(),
            webhook_url: None,
            paths: Vec::new(),
            step_timeout: Duration::from_secs(30),
        }
    }
}

/// The name of the path that runs a live interview rather than a test session.
pub const LIVE_INTERVIEW: &str = "live interview";

/// What the live interview path fires, in order: finishing, then the feedback.
const INTERVIEW_EVENTS: [EventKind; 2] = [EventKind::LiveInterviewFinished, EventKind::LiveInterviewFeedbackUpdated];

/// The names `SimOptions::paths` accepts: the lifecycle table's seven, then the live interview.
pub fn path_names() -> Vec<&'static str> {
    routes().map(Route::name).collect()
}

/// How many notifications the chosen paths expect (all paths when `names` is empty).
pub fn expected_notifications(names: &[String]) -> Result<usize, SimError> {
    Ok(select_paths(names)?.iter().map(|route| route.events().len()).sum())
}

/// One path the simulator can run.
#[derive(Clone, Copy)]
enum Route {
    /// A row of the session lifecycle table.
    Session(&'static Path),
    /// Schedule, start and finish a live interview, then give feedback.
    Interview,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Session(path) => path.name,
            Route::Interview => LIVE_INTERVIEW,
        }
    }

    fn events(self) -> &'static [EventKind] {
        match self {
            Route::Session(path) => path.events,
            Route::Interview => &INTERVIEW_EVENTS,
        }
    }
}

fn routes() -> impl Iterator<Item = Route> {
    PATHS.iter().map(Route::Session).chain([Route::Interview])
}

/// Progress, reported as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SimEvent {
    /// Preparation: the receiver, the webhook, the Pre-Screens.
    Setup {
        message: String,
    },
    PathStarted {
        path: &'static str,
        expected: usize,
    },
    /// The simulator did something: `invite`, `start`, `verify`, `advance clock`…
    Acted {
        path: &'static str,
        act: String,
        session: String,
    },
    /// The server fired an event (it is in the session's outbox).
    Fired {
        path: &'static str,
        event: String,
        session: String,
    },
    /// A delivery of the event reached the receiver; `signatures_ok` is `None` when the
    /// request itself cannot be seen (a given `webhook_url`).
    Delivered {
        path: &'static str,
        event: String,
        session: String,
        signatures_ok: Option<bool>,
    },
    /// The step's notification did not arrive in time.
    TimedOut {
        path: &'static str,
        waiting_for: String,
    },
    PathFinished {
        path: &'static str,
        passed: bool,
    },
}

/// One row of the final table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathReport {
    pub path: &'static str,
    /// The sessions the path created (the original, then a retake).
    pub sessions: Vec<String>,
    /// The lifecycle table's events, in order.
    pub expected: Vec<String>,
    /// The current (non-legacy) events delivered for the path's sessions, in arrival order.
    pub delivered: Vec<String>,
    /// Expected but not delivered.
    pub missing: Vec<String>,
    /// Delivered but not expected (duplicates included).
    pub unexpected: Vec<String>,
    /// Whether what was delivered came in the table's order.
    pub order_ok: bool,
    /// Whether every delivery (legacy Certify ones included) carried two valid signatures;
    /// `None` when the requests could not be seen.
    pub signatures_ok: Option<bool>,
    /// Why a signature failed, for the first that did.
    pub signature_problem: Option<String>,
    /// Why the path stopped early, if it did (a refused step).
    pub error: Option<String>,
    pub passed: bool,
}

/// How deliveries were observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Observation {
    /// An inspector bin: its page shows every request.
    Bin { url: String, page_url: String },
    /// The delivery log of the webhook to a given URL.
    DeliveryLog { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimReport {
    pub observation: Observation,
    pub paths: Vec<PathReport>,
}

impl SimReport {
    pub fn passed(&self) -> bool {
        self.paths.iter().all(|p| p.passed)
    }
}

/// Why the simulation could not run (a path that merely fails is a row of the report).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown path {0:?}; the paths are: \"{names}\"", names = path_names().join("\", \""))]
    UnknownPath(String),
    #[error("{what}: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{operation} was refused: {code}: {message}")]
    Api { operation: &'static str, code: String, message: String },
    #[error("the candidate's {action} answered {status}: {message}")]
    Candidate { action: String, status: u16, message: String },
    #[error("{operation}: unexpected answer: {detail}")]
    Unexpected { operation: String, detail: String },
}

/// Runs the simulation; `progress` sees every [`SimEvent`] as it happens.
pub async fn simulate(options: SimOptions, mut progress: impl FnMut(SimEvent)) -> Result<SimReport, SimError> {
    let paths = select_paths(&options.paths)?;
    let client = Client::new(&options.base_url, &options.api_key)?;
    // Fail early and clearly on a bad key or a company whose clock cannot be advanced,
    // before anything is created.
    client.gql("sandboxClock", "{ sandboxClock { now } }", json!({})).await?;
    let events: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
    let (bin, observation) = match &options.webhook_url {
        Some(url) => (None, Observation::DeliveryLog { url: url.clone() }),
        None => {
            let bin = client.create_bin().await?;
            let id = text(&bin["id"], "POST /inspect", "id")?;
            let url = text(&bin["url"], "POST /inspect", "url")?;
            let page_url = text(&bin["pageUrl"], "POST /inspect", "pageUrl")?;
            progress(SimEvent::Setup { message: format!("created the inspector bin {page_url}") });
            (Some(id), Observation::Bin { url, page_url })
        }
    };
    let url = match &observation {
        Observation::Bin { url, .. } | Observation::DeliveryLog { url } => url.clone(),
    };
    let created = client
        .gql(
            "createWebhook",
            "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { webhook { id } secret } }",
            json!({ "w": { "url": url, "events": events } }),
        )
        .await?;
    let webhook_id = text(&created["createWebhook"]["webhook"]["id"], "createWebhook", "webhook.id")?;
    let secret = text(&created["createWebhook"]["secret"], "createWebhook", "secret")?;
    progress(SimEvent::Setup { message: format!("created webhook {webhook_id} for all 20 events → {url}") });
    let observer = match bin {
        Some(id) => Observer::Bin { id, url, secret },
        None => Observer::Log { webhook_id: webhook_id.clone() },
    };
    let mut sim =
        Sim { client: &client, observer, timeout: options.step_timeout, tests: HashMap::new(), run: run_id() };
    let mut rows = Vec::new();
    let mut outcome = Ok(());
    for route in paths {
        let row = match route {
            Route::Session(path) => sim.path(path, &mut progress).await,
            Route::Interview => sim.interview(&mut progress).await,
        };
        match row {
            Ok(row) => rows.push(row),
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    // Clean up even after a failure, and report the first problem.
    let deleted =
        client.gql("deleteWebhook", "mutation($id: ID!) { deleteWebhook(id: $id) }", json!({ "id": webhook_id })).await;
    outcome?;
    deleted?;
    progress(SimEvent::Setup { message: format!("deleted webhook {webhook_id}") });
    Ok(SimReport { observation, paths: rows })
}

fn select_paths(names: &[String]) -> Result<Vec<Route>, SimError> {
    if names.is_empty() {
        return Ok(routes().collect());
    }
    names
        .iter()
        .map(|name| {
            routes()
                .find(|route| route.name().eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| SimError::UnknownPath(name.clone()))
        })
        .collect()
}

/// A short id unique to this run, so emails never meet an earlier run's sessions.
fn run_id() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

fn slug(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c)
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

enum Observer {
    Bin { id: String, url: String, secret: String },
    Log { webhook_id: String },
}

/// What a path's deliveries are about: its test sessions, or its live interview.
#[derive(Clone, Copy, PartialEq, Eq)]
enum About {
    Sessions,
    Interview,
}

impl About {
    /// The payload field naming the subject.
    fn payload_key(self) -> &'static str {
        match self {
            About::Sessions => "testSessionId",
            About::Interview => "interviewId",
        }
    }
}

/// One delivery of an event about one of the path's sessions (or its interview).
struct Observed {
    event: String,
    session: String,
    /// `Some(Err(why))` when a signature failed; `None` when not observable.
    signatures: Option<Result<(), String>>,
}

impl Observer {
    /// The deliveries about `subjects`, in arrival order.
    async fn observe(&self, client: &Client, about: About, subjects: &[String]) -> Result<Vec<Observed>, SimError> {
        match self {
            Observer::Bin { id, url, secret } => {
                let bin = client.bin_requests(id).await?;
                let mut requests: Vec<&Value> =
                    bin["requests"].as_array().map(|r| r.iter().collect()).unwrap_or_default();
                requests.sort_by_key(|r| r["seq"].as_u64());
                let mut out = Vec::new();
                for request in requests {
                    let envelope = &request["json"];
                    let Some(subject) = envelope["payload"][about.payload_key()].as_str() else { continue };
                    if !subjects.iter().any(|s| s == subject) {
                        continue;
                    }
                    let headers: Vec<(String, String)> =
                        serde_json::from_value(request["headers"].clone()).unwrap_or_default();
                    let body = request["body"].as_str().unwrap_or_default().as_bytes();
                    let at = request["receivedAt"].as_i64().unwrap_or_default().div_euclid(1000);
                    let checks =
                        check(secret, Delivery { url, headers: &headers, body }, at, Some(DEFAULT_TOLERANCE_SECS));
                    let verdict = match (checks.codesignal, checks.standard) {
                        (Ok(()), Ok(())) => Ok(()),
                        (Err(err), _) => Err(format!("X-CodeSignal-Signature: {err}")),
                        (_, Err(err)) => Err(format!("webhook-signature: {err}")),
                    };
                    out.push(Observed {
                        event: envelope["event"].as_str().unwrap_or_default().to_owned(),
                        session: subject.to_owned(),
                        signatures: Some(verdict),
                    });
                }
                Ok(out)
            }
            Observer::Log { webhook_id } => {
                let query = "query($w: ID!, $s: ID) { webhookDeliveries(webhookId: $w, sessionId: $s, first: 100) { id event sessionId state finishDate } }";
                // Interview deliveries carry no session: the webhook's live-interview
                // deliveries stand for the path's interview.
                let filters: Vec<(Option<&String>, Option<&String>)> = match about {
                    About::Sessions => subjects.iter().map(|s| (Some(s), Some(s))).collect(),
                    About::Interview => vec![(None, subjects.first())],
                };
                let mut rows = Vec::new();
                for (session, subject) in filters {
                    let data = client.gql("webhookDeliveries", query, json!({ "w": webhook_id, "s": session })).await?;
                    for row in data["webhookDeliveries"].as_array().into_iter().flatten() {
                        let event = row["event"].as_str().unwrap_or_default();
                        let ours = match about {
                            About::Sessions => true,
                            About::Interview => row["sessionId"].is_null() && is_interview(event),
                        };
                        if ours && row["state"] == "delivered" {
                            let id: i64 = row["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_default();
                            let observed = Observed {
                                event: event.to_owned(),
                                session: subject.cloned().unwrap_or_default(),
                                signatures: None,
                            };
                            rows.push((row["finishDate"].as_i64().unwrap_or_default(), id, observed));
                        }
                    }
                }
                rows.sort_by_key(|(finished, id, _)| (*finished, *id));
                Ok(rows.into_iter().map(|(_, _, observed)| observed).collect())
            }
        }
    }
}

fn is_interview(event: &str) -> bool {
    INTERVIEW_EVENTS.iter().any(|k| k.name() == event)
}

fn is_legacy(event: &str) -> bool {
    EventKind::from_name(event).is_some_and(EventKind::is_legacy_certify)
}

/// The state of one path's run.
struct Sim<'a> {
    client: &'a Client,
    observer: Observer,
    timeout: Duration,
    /// Pre-Screens by (proctored, certified), created when first needed.
    tests: HashMap<(bool, bool), String>,
    run: String,
}

/// A session the path acts on: its id and the candidate's link token.
#[derive(Clone)]
struct Invited {
    id: String,
    token: String,
}

/// What a path has seen so far, to report each event once.
#[derive(Default)]
struct Seen {
    fired: HashMap<String, usize>,
    delivered: usize,
}

impl Sim<'_> {
    async fn path(&mut self, path: &'static Path, progress: &mut impl FnMut(SimEvent)) -> Result<PathReport, SimError> {
        progress(SimEvent::PathStarted { path: path.name, expected: path.events.len() });
        let expected: Vec<String> = path.events.iter().map(|k| k.name().to_owned()).collect();
        let email = format!("sim-{}-{}@example.com", self.run, slug(path.name));
        let test = self.test(path.proctored, path.certified, progress).await?;
        if path.steps.iter().any(|(_, act)| *act == Act::Share) {
            self.earlier_verified_result(path, &email, progress).await?;
        }
        let mut original: Option<Invited> = None;
        let mut spawned: Option<Invited> = None;
        let mut seen = Seen::default();
        let mut error = None;
        // Each step of the table fires exactly one event (a unit test holds PATHS to it): after
        // step `i`, `expected[..=i]` should have arrived.
        for (i, (target, act)) in path.steps.iter().enumerate() {
            let current = match target {
                Target::Original => original.clone(),
                Target::Spawned => spawned.clone(),
            };
            match self.act(path, *act, &test, &email, current, progress).await {
                Ok(Acted::Invited(invited)) => original = Some(invited),
                Ok(Acted::Retake(retake)) => spawned = retake,
                Ok(Acted::Done) => {}
                Err(err) => {
                    // A refused step ends the path, not the run: the table shows why.
                    error = Some(err.to_string());
                    break;
                }
            }
            let sessions = sessions_of(&original, &spawned);
            let waited =
                self.wait(path.name, About::Sessions, &sessions, &expected[..=i], Until::Last, &mut seen, progress);
            if !waited.await? {
                progress(SimEvent::TimedOut { path: path.name, waiting_for: expected[i].clone() });
            }
        }
        let sessions = sessions_of(&original, &spawned);
        // A late delivery may still come: wait once more for the whole path.
        self.wait(path.name, About::Sessions, &sessions, &expected, Until::All, &mut seen, progress).await?;
        let observed = self.observer.observe(self.client, About::Sessions, &sessions).await?;
        let row = report(path.name, sessions, expected, &observed, error);
        progress(SimEvent::PathFinished { path: path.name, passed: row.passed });
        Ok(row)
    }

    /// The live interview: scheduled, started and finished (two of three questions solved),
    /// then given feedback; each of the last two steps fires one event.
    async fn interview(&mut self, progress: &mut impl FnMut(SimEvent)) -> Result<PathReport, SimError> {
        let name = LIVE_INTERVIEW;
        progress(SimEvent::PathStarted { path: name, expected: INTERVIEW_EVENTS.len() });
        let expected: Vec<String> = INTERVIEW_EVENTS.iter().map(|k| k.name().to_owned()).collect();
        let email = format!("sim-{}-{}@example.com", self.run, slug(name));
        let interviewer = format!("screenhook-simulate-{}", self.run);
        let mut interview: Vec<String> = Vec::new();
        let mut seen = Seen::default();
        let mut error = None;
        let mut fired = 0;
        for step in InterviewStep::ALL {
            match self.interview_step(step, interview.first(), &email, &interviewer).await {
                Ok(Some(created)) => interview.push(created),
                Ok(None) => {}
                Err(err) => {
                    // A refused step ends the path, not the run: the table shows why.
                    error = Some(err.to_string());
                    break;
                }
            }
            let id = interview.first().cloned().unwrap_or_default();
            progress(SimEvent::Acted { path: name, act: step.describe().into(), session: id.clone() });
            if !step.fires() {
                continue;
            }
            // The mutation answered: its event is in the outbox.
            progress(SimEvent::Fired { path: name, event: expected[fired].clone(), session: id });
            fired += 1;
            if !self
                .wait(name, About::Interview, &interview, &expected[..fired], Until::Last, &mut seen, progress)
                .await?
            {
                progress(SimEvent::TimedOut { path: name, waiting_for: expected[fired - 1].clone() });
            }
        }
        self.wait(name, About::Interview, &interview, &expected, Until::All, &mut seen, progress).await?;
        let observed = self.observer.observe(self.client, About::Interview, &interview).await?;
        let row = report(name, interview, expected, &observed, error);
        progress(SimEvent::PathFinished { path: name, passed: row.passed });
        Ok(row)
    }

    /// One step of the live interview; scheduling answers the new interview's id.
    async fn interview_step(
        &self,
        step: InterviewStep,
        interview: Option<&String>,
        email: &str,
        interviewer: &str,
    ) -> Result<Option<String>, SimError> {
        if let InterviewStep::Schedule = step {
            let op = "createLiveInterview";
            let data = self
                .client
                .gql(
                    op,
                    "mutation($c: LiveInterviewCandidateInput!, $i: ID!) { createLiveInterview(candidate: $c, interviewerId: $i) { id } }",
                    json!({ "c": { "firstName": "Sim", "lastName": "Candidate", "email": email }, "i": interviewer }),
                )
                .await?;
            return Ok(Some(text(&data[op]["id"], op, "id")?));
        }
        let id = interview.ok_or_else(|| unexpected(LIVE_INTERVIEW, "a step came before the interview existed"))?;
        match step {
            InterviewStep::Schedule => unreachable!("handled above"),
            InterviewStep::Start => {
                self.client
                    .gql(
                        "startLiveInterview",
                        "mutation($id: ID!) { startLiveInterview(id: $id) { id } }",
                        json!({ "id": id }),
                    )
                    .await?
            }
            InterviewStep::Finish => {
                self.client
                    .gql(
                        "finishLiveInterview",
                        "mutation($id: ID!) { finishLiveInterview(id: $id, questionsSolved: 2, questionsAttempted: 3) { id } }",
                        json!({ "id": id }),
                    )
                    .await?
            }
            InterviewStep::Feedback => {
                self.client
                    .gql(
                        "updateLiveInterviewFeedback",
                        "mutation($id: ID!, $i: ID!, $f: LiveInterviewFeedbackInput!) { updateLiveInterviewFeedback(id: $id, interviewerId: $i, feedback: $f) { id } }",
                        json!({ "id": id, "i": interviewer, "f": {
                            "generalNotes": "Structured, clear reasoning (simulated).",
                            "categories": [{ "name": "Coding", "attributes": [{ "name": "Correctness", "score": 4 }] }],
                            "recommendedLevel": "Senior",
                            "overallEvaluation": "Strong Yes",
                        } }),
                    )
                    .await?
            }
        };
        Ok(None)
    }

    /// Polls until `so_far` was delivered about `subjects` as `until` says, or the step
    /// timeout passes (`false`), reporting what fires (for sessions) and arrives meanwhile.
    #[allow(clippy::too_many_arguments)]
    async fn wait(
        &self,
        path: &'static str,
        about: About,
        subjects: &[String],
        so_far: &[String],
        until: Until,
        seen: &mut Seen,
        progress: &mut impl FnMut(SimEvent),
    ) -> Result<bool, SimError> {
        let deadline = Instant::now() + self.timeout;
        // An interview's events are reported as fired when its mutation answers.
        let sessions = if about == About::Sessions { subjects } else { &[] };
        loop {
            for session in sessions {
                let data = self
                    .client
                    .gql(
                        "sessionEvents",
                        "query($s: ID!) { sessionEvents(sessionId: $s) { event } }",
                        json!({ "s": session }),
                    )
                    .await?;
                let fired: Vec<&str> = data["sessionEvents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["event"].as_str())
                    .filter(|e| !is_legacy(e))
                    .collect();
                let known = seen.fired.entry(session.clone()).or_default();
                for event in fired.iter().skip(*known) {
                    progress(SimEvent::Fired { path, event: (*event).to_owned(), session: session.clone() });
                }
                *known = (*known).max(fired.len());
            }
            let observed = self.observer.observe(self.client, about, subjects).await?;
            let current: Vec<&Observed> = observed.iter().filter(|o| !is_legacy(&o.event)).collect();
            for o in current.iter().skip(seen.delivered) {
                progress(SimEvent::Delivered {
                    path,
                    event: o.event.clone(),
                    session: o.session.clone(),
                    signatures_ok: o.signatures.as_ref().map(Result::is_ok),
                });
            }
            seen.delivered = seen.delivered.max(current.len());
            let delivered: Vec<String> = current.iter().map(|o| o.event.clone()).collect();
            let done = match (until, so_far.last()) {
                (_, None) => true,
                (Until::Last, Some(last)) => {
                    delivered.iter().filter(|e| *e == last).count() >= so_far.iter().filter(|e| *e == last).count()
                }
                (Until::All, Some(_)) => difference(so_far, &delivered).0.is_empty(),
            };
            if done {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The Pre-Screen for a path, created once per run.
    async fn test(
        &mut self,
        proctored: bool,
        certified: bool,
        progress: &mut impl FnMut(SimEvent),
    ) -> Result<String, SimError> {
        if let Some(id) = self.tests.get(&(proctored, certified)) {
            return Ok(id.clone());
        }
        let kind = if proctored { "proctored" } else { "not proctored" };
        let id = if certified {
            let data =
                self.client.gql("frameworks", "{ frameworks(first: 1) { frameworks { id } } }", json!({})).await?;
            let framework = text(&data["frameworks"]["frameworks"][0]["id"], "frameworks", "a framework")?;
            let data = self
                .client
                .gql(
                    "createCompanyTestFromFramework",
                    "mutation($f: CreateCompanyTestFromFrameworkInput!) { createCompanyTestFromFramework(testFields: $f) { id } }",
                    json!({ "f": {
                        "frameworkId": framework, "proctored": proctored, "labels": ["screenhook-simulate"],
                        "title": format!("Simulator: Certified Evaluation, {kind} ({})", self.run),
                        "externalTitle": "Coding assessment",
                    } }),
                )
                .await?;
            text(&data["createCompanyTestFromFramework"]["id"], "createCompanyTestFromFramework", "id")?
        } else {
            let data = self
                .client
                .gql(
                    "createCompanyTest",
                    "mutation($t: CreateCompanyTestInput!) { createCompanyTest(testFields: $t) { id } }",
                    json!({ "t": {
                        "proctored": proctored, "duration": 3_600_000.0, "labels": ["screenhook-simulate"],
                        "title": format!("Simulator: custom Pre-Screen, {kind} ({})", self.run),
                        "externalTitle": "Pre-Screen",
                    } }),
                )
                .await?;
            text(&data["createCompanyTest"]["id"], "createCompanyTest", "id")?
        };
        progress(SimEvent::Setup {
            message: format!("created Pre-Screen {id} ({kind}, {})", if certified { "certified" } else { "custom" }),
        });
        self.tests.insert((proctored, certified), id.clone());
        Ok(id)
    }

    /// A re-share needs an earlier verified result of the same framework for the same email:
    /// one is taken through start, submit and verify first (its events are not the path's).
    async fn earlier_verified_result(
        &mut self,
        path: &'static Path,
        email: &str,
        progress: &mut impl FnMut(SimEvent),
    ) -> Result<(), SimError> {
        let test = self.test(true, true, progress).await?;
        let earlier = self.invite(&test, email, &format!("screenhook-simulate:{}:earlier", slug(path.name))).await?;
        self.client.candidate(&earlier.token, "start", json!({})).await?;
        self.client.candidate(&earlier.token, "submit", json!({ "score": 1100 })).await?;
        self.verify(&earlier.id).await?;
        progress(SimEvent::Acted { path: path.name, act: "earlier verified result".into(), session: earlier.id });
        Ok(())
    }

    async fn invite(&self, test: &str, email: &str, external_id: &str) -> Result<Invited, SimError> {
        let op = "createCompanyTestSession";
        let data = self
            .client
            .gql(
                op,
                "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id invitationUrl } }",
                json!({ "s": {
                    "testId": test, "candidateFirstName": "Sim", "candidateLastName": "Candidate",
                    "candidateEmail": email, "externalId": external_id, "noInvitationEmail": true,
                } }),
            )
            .await?;
        let session = &data["createCompanyTestSession"];
        Ok(Invited { id: text(&session["id"], op, "id")?, token: token_of(&session["invitationUrl"], op)? })
    }

    async fn verify(&self, id: &str) -> Result<(), SimError> {
        self.client
            .gql(
                "verifyCompanyTestSession",
                "mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await?;
        Ok(())
    }

    async fn act(
        &self,
        path: &'static Path,
        act: Act,
        test: &str,
        email: &str,
        session: Option<Invited>,
        progress: &mut impl FnMut(SimEvent),
    ) -> Result<Acted, SimError> {
        if act == Act::Invite {
            let invited = self.invite(test, email, &format!("screenhook-simulate:{}", slug(path.name))).await?;
            progress(SimEvent::Acted { path: path.name, act: "invite".into(), session: invited.id.clone() });
            return Ok(Acted::Invited(invited));
        }
        let session = session.ok_or_else(|| unexpected(path.name, "a step came before its session existed"))?;
        let mut outcome = Acted::Done;
        let name = match act {
            Act::Invite => unreachable!("handled above"),
            Act::Start => candidate(self, &session, "start", json!({})).await?,
            Act::Submit => candidate(self, &session, "submit", json!({ "score": 900 })).await?,
            Act::Share => candidate(self, &session, "share", json!({})).await?,
            Act::Decline => candidate(self, &session, "decline", json!({})).await?,
            Act::Verify => {
                self.verify(&session.id).await?;
                "verify (proctor)"
            }
            Act::Reject | Act::RejectTechnical => {
                let technical = act == Act::RejectTechnical;
                let op = "rejectCompanyTestSession";
                let data = self
                    .client
                    .gql(
                        op,
                        "mutation($id: ID!, $r: [RejectionReasonInput!]!, $t: Boolean) { rejectCompanyTestSession(id: $id, reasons: $r, technicalIssue: $t) { retakeSession { id invitationUrl } } }",
                        json!({ "id": session.id, "t": technical, "r": [{
                            "name": if technical { "technicalIssue" } else { "multiplePeople" },
                            "description": if technical { "The recording stopped early (simulated)." } else { "Another person was visible (simulated)." },
                        }] }),
                    )
                    .await?;
                let retake = &data[op]["retakeSession"];
                if technical {
                    outcome = Acted::Retake(Some(Invited {
                        id: text(&retake["id"], op, "retakeSession.id")?,
                        token: token_of(&retake["invitationUrl"], op)?,
                    }));
                }
                if technical { "reject: technical issue (proctor)" } else { "reject (proctor)" }
            }
            Act::Expire => {
                self.advance_past_expiry(&session.id).await?;
                "advance the sandbox clock past expiry"
            }
            // The server's integrity analysis fires by itself after its delay.
            Act::IntegrityReview => "await the integrity review",
        };
        progress(SimEvent::Acted { path: path.name, act: name.into(), session: session.id.clone() });
        Ok(outcome)
    }

    /// Moves the sandbox clock a minute past the session's expiration date.
    async fn advance_past_expiry(&self, session: &str) -> Result<(), SimError> {
        let op = "companyTestSession";
        let data = self
            .client
            .gql(
                op,
                "query($id: ID!) { companyTestSession(id: $id) { expirationDate } sandboxClock { now } }",
                json!({ "id": session }),
            )
            .await?;
        let expires = data[op]["expirationDate"].as_i64().ok_or_else(|| unexpected(op, "no expirationDate"))?;
        let now = data["sandboxClock"]["now"].as_i64().ok_or_else(|| unexpected(op, "no sandboxClock.now"))?;
        let by = (expires - now + 60_000).max(1);
        self.client
            .gql(
                "advanceSandboxClock",
                "mutation($by: Float!) { advanceSandboxClock(by: $by) { now } }",
                json!({ "by": by as f64 }),
            )
            .await?;
        Ok(())
    }
}

/// A candidate action on the session's link; returns its name for progress.
async fn candidate(
    sim: &Sim<'_>,
    session: &Invited,
    action: &'static str,
    body: Value,
) -> Result<&'static str, SimError> {
    sim.client.candidate(&session.token, action, body).await?;
    Ok(action)
}

/// What [`Sim::wait`] waits for.
#[derive(Clone, Copy)]
enum Until {
    /// The step's own event (the last listed): one missing delivery then does not make every
    /// later step wait out its timeout too.
    Last,
    /// Every event listed.
    All,
}

/// The live interview path's steps, in order.
#[derive(Clone, Copy)]
enum InterviewStep {
    Schedule,
    Start,
    Finish,
    Feedback,
}

impl InterviewStep {
    const ALL: [InterviewStep; 4] =
        [InterviewStep::Schedule, InterviewStep::Start, InterviewStep::Finish, InterviewStep::Feedback];

    fn describe(self) -> &'static str {
        match self {
            InterviewStep::Schedule => "schedule the interview",
            InterviewStep::Start => "start the interview (interview room)",
            InterviewStep::Finish => "finish: 2 of 3 questions solved (interview room)",
            InterviewStep::Feedback => "record feedback (interviewer)",
        }
    }

    /// Whether the step fires an event (finishing and feedback do).
    fn fires(self) -> bool {
        matches!(self, InterviewStep::Finish | InterviewStep::Feedback)
    }
}

enum Acted {
    Invited(Invited),
    Retake(Option<Invited>),
    Done,
}

fn sessions_of(original: &Option<Invited>, spawned: &Option<Invited>) -> Vec<String> {
    original.iter().chain(spawned).map(|s| s.id.clone()).collect()
}

fn token_of(url: &Value, op: &str) -> Result<String, SimError> {
    let url = text(url, op, "invitationUrl")?;
    url.rsplit('/')
        .next()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| unexpected(op, "an invitationUrl without a token"))
}

/// Compares what arrived with the table.
fn report(
    path: &'static str,
    sessions: Vec<String>,
    expected: Vec<String>,
    observed: &[Observed],
    error: Option<String>,
) -> PathReport {
    let delivered: Vec<String> = observed.iter().filter(|o| !is_legacy(&o.event)).map(|o| o.event.clone()).collect();
    let (missing, unexpected) = difference(&expected, &delivered);
    // Order is judged on what was expected and arrived: a missing event is reported as
    // missing, not also as out of order.
    let mut budget = counts(&expected);
    let kept: Vec<&String> = delivered
        .iter()
        .filter(|e| match budget.get_mut(e.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .collect();
    let mut rest = expected.iter();
    let order_ok = kept.iter().all(|e| rest.any(|x| x == *e));
    let checks: Vec<&Result<(), String>> = observed.iter().filter_map(|o| o.signatures.as_ref()).collect();
    let observable = !observed.is_empty() && observed.iter().all(|o| o.signatures.is_some());
    let signature_problem = checks.iter().find_map(|c| c.as_ref().err().cloned());
    let signatures_ok = observable.then_some(signature_problem.is_none());
    let passed =
        error.is_none() && missing.is_empty() && unexpected.is_empty() && order_ok && signatures_ok != Some(false);
    PathReport {
        path,
        sessions,
        expected,
        delivered,
        missing,
        unexpected,
        order_ok,
        signatures_ok,
        signature_problem,
        error,
        passed,
    }
}

fn counts(events: &[String]) -> HashMap<&str, usize> {
    let mut out = HashMap::new();
    for e in events {
        *out.entry(e.as_str()).or_default() += 1;
    }
    out
}

/// (in `a` but not `b`, in `b` but not `a`), counting repeats.
fn difference(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
    let mut left = counts(b);
    let missing = a
        .iter()
        .filter(|e| match left.get_mut(e.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    let mut right = counts(a);
    let extra = b
        .iter()
        .filter(|e| match right.get_mut(e.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    (missing, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_the_table_fires_one_event() {
        // The simulator waits for event `i` after step `i`.
        for path in PATHS {
            assert_eq!(path.steps.len(), path.events.len(), "{}", path.name);
        }
    }

    fn observed(events: &[&str]) -> Vec<Observed> {
        events.iter().map(|e| Observed { event: (*e).into(), session: "s".into(), signatures: Some(Ok(())) }).collect()
    }

    fn path(name: &str) -> &'static Path {
        PATHS.iter().find(|p| p.name == name).unwrap()
    }

    fn expected(p: &Path) -> Vec<String> {
        p.events.iter().map(|k| k.name().to_owned()).collect()
    }

    #[test]
    fn a_complete_ordered_signed_path_passes() {
        let p = path("declined");
        let row = report(
            p.name,
            vec![],
            expected(p),
            &observed(&["companyTestSessionCreated", "preScreenCandidateDeclined"]),
            None,
        );
        assert!(row.passed && row.order_ok && row.signatures_ok == Some(true), "{row:?}");
    }

    #[test]
    fn missing_reordered_duplicated_and_badly_signed_deliveries_fail() {
        let p = path("proctored, verified");
        let missing = report(
            p.name,
            vec![],
            expected(p),
            &observed(&["companyTestSessionCreated", "companyTestSessionStarted"]),
            None,
        );
        assert_eq!(missing.missing, ["preScreenResultVerificationPending", "preScreenResultVerified"]);
        assert!(missing.order_ok && !missing.passed);

        let swapped = observed(&[
            "companyTestSessionCreated",
            "preScreenResultVerificationPending",
            "companyTestSessionStarted",
            "preScreenResultVerified",
        ]);
        let row = report(p.name, vec![], expected(p), &swapped, None);
        assert!(row.missing.is_empty() && !row.order_ok && !row.passed, "{row:?}");

        let mut twice = observed(&["companyTestSessionCreated", "companyTestSessionCreated"]);
        let d = path("declined");
        let row = report(d.name, vec![], expected(d), &twice, None);
        assert_eq!(row.unexpected, ["companyTestSessionCreated"]);
        assert!(!row.passed);

        twice[1] = Observed {
            event: "preScreenCandidateDeclined".into(),
            session: "s".into(),
            signatures: Some(Err("forged".into())),
        };
        let row = report(d.name, vec![], expected(d), &twice, None);
        assert_eq!(
            (row.signatures_ok, row.signature_problem.as_deref(), row.passed),
            (Some(false), Some("forged"), false)
        );
    }

    #[test]
    fn legacy_certify_events_are_not_part_of_the_table() {
        let p = path("declined");
        let row = report(
            p.name,
            vec![],
            expected(p),
            &observed(&["companyTestSessionCreated", "certificationRequestRejected", "preScreenCandidateDeclined"]),
            None,
        );
        assert!(row.passed, "{row:?}");
    }

    #[test]
    fn paths_are_chosen_by_name() {
        assert_eq!(select_paths(&[]).unwrap().len(), 8);
        assert_eq!(select_paths(&["Declined".into()]).unwrap()[0].name(), "declined");
        assert_eq!(select_paths(&[" Live Interview".into()]).unwrap()[0].name(), LIVE_INTERVIEW);
        assert_eq!(expected_notifications(&["live interview".into(), "declined".into()]).unwrap(), 4);
        assert!(matches!(select_paths(&["nope".into()]), Err(SimError::UnknownPath(_))));
    }
}
