//! The invitation lifecycle as data: states, commands and their actors, the edges between
//! states with the events each fires, and the seven paths of PRODUCT.md's table.
//!
//! [`EDGES`] is a relation, not a function: a command may lead to different states depending
//! on the session (Submit goes to verification when proctored, to the integrity review when
//! not) or on its input (NotVerify with or without a retake). The tests check it against
//! [`crate::session::decide`] both ways: every accepted command follows one edge, and every
//! edge is reachable. [`walk`] runs a [`Path`] through `decide`, for the simulator and tests.
//! [`to_mermaid`] and [`to_svg`] draw it.

mod svg;

use std::fmt::Write as _;

use crate::{
    change::Change,
    error::DomainError,
    event::{DomainEvent, EventKind},
    ids::{CompanyId, FrameworkId, SessionId, TestId},
    model::{
        CompanyTest, CompanyTestSession, Integrations, RejectionReason, SessionStatus, TestResult, VerificationStatus,
    },
    session::{self, Ctx, Decision, Invite, NotVerify, Retake, SessionCommand, ShareResult, Start, Submission},
    test::{self, NewFrameworkTest, NewTest, TestCommand},
    time::{Millis, Timestamp},
};

/// A lifecycle state: the session status, refined where `over` hides several situations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// No session yet.
    Absent,
    Pending,
    Active,
    /// The attempt ended; the grader has not recorded the result yet.
    Finalizing,
    /// Over, proctored, awaiting the proctor.
    AwaitingVerification,
    /// Over, proctored, verified (or answered with a shared result).
    Verified,
    /// Over, proctored, rejected; expires (notCertified) at the end of the window.
    Rejected,
    /// Over, proctored, rejected for a technical issue; a retake session replaces it.
    RetakeGranted,
    /// Over, not proctored, integrity analysis running.
    IntegrityPending,
    /// Over, not proctored, final.
    Completed,
    Expired,
    Declined,
    Deleted,
    Archived,
}

impl State {
    pub const ALL: [State; 14] = [
        State::Absent,
        State::Pending,
        State::Active,
        State::Finalizing,
        State::AwaitingVerification,
        State::Verified,
        State::Rejected,
        State::RetakeGranted,
        State::IntegrityPending,
        State::Completed,
        State::Expired,
        State::Declined,
        State::Deleted,
        State::Archived,
    ];

    /// The state of a stored session (or of none).
    pub fn of(session: Option<&CompanyTestSession>) -> State {
        let Some(s) = session else { return State::Absent };
        match s.status {
            SessionStatus::Pending => State::Pending,
            SessionStatus::Active => State::Active,
            SessionStatus::Finalizing => State::Finalizing,
            SessionStatus::Expired => State::Expired,
            SessionStatus::Declined => State::Declined,
            SessionStatus::Deleted => State::Deleted,
            SessionStatus::Archived => State::Archived,
            SessionStatus::Over => match s.verification_status {
                Some(VerificationStatus::Pending) => State::AwaitingVerification,
                Some(VerificationStatus::Verified) => State::Verified,
                Some(VerificationStatus::NotVerified) if s.retake_session.is_some() => State::RetakeGranted,
                Some(VerificationStatus::NotVerified) => State::Rejected,
                None if !s.integrity.finalized && s.integrity_review_due.is_some() => State::IntegrityPending,
                None => State::Completed,
            },
        }
    }

    /// The name used in errors and diagrams: the status, refined after a colon for `over`.
    pub fn name(self) -> &'static str {
        match self {
            State::Absent => "absent",
            State::Pending => "pending",
            State::Active => "active",
            State::Finalizing => "finalizing",
            State::AwaitingVerification => "over:verificationPending",
            State::Verified => "over:verified",
            State::Rejected => "over:notVerified",
            State::RetakeGranted => "over:retakeGranted",
            State::IntegrityPending => "over:integrityReviewPending",
            State::Completed => "over:final",
            State::Expired => "expired",
            State::Declined => "declined",
            State::Deleted => "deleted",
            State::Archived => "archived",
        }
    }

    fn node(self) -> &'static str {
        match self {
            State::Absent => "[*]",
            State::Pending => "Pending",
            State::Active => "Active",
            State::Finalizing => "Finalizing",
            State::AwaitingVerification => "AwaitingVerification",
            State::Verified => "Verified",
            State::Rejected => "Rejected",
            State::RetakeGranted => "RetakeGranted",
            State::IntegrityPending => "IntegrityPending",
            State::Completed => "Completed",
            State::Expired => "Expired",
            State::Declined => "Declined",
            State::Deleted => "Deleted",
            State::Archived => "Archived",
        }
    }
}

/// Who sends a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The company, through the API (an API key).
    Customer,
    /// The candidate, through the invitation link (its token).
    Candidate,
    /// The assessment engine, which scores an ended attempt (a `grader` key).
    Grader,
    /// The proctoring verification team (an operator role).
    Proctor,
    /// Timers: expiry and time limit.
    Clock,
    /// The integrity analysis of non-proctored sessions (delivered by a timer).
    Integrity,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Customer => "customer",
            Actor::Candidate => "candidate",
            Actor::Grader => "grader",
            Actor::Proctor => "proctor",
            Actor::Clock => "clock",
            Actor::Integrity => "integrity",
        }
    }
}

/// The name of a [`SessionCommand`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    Invite,
    Delete,
    ExtendExpiration,
    EditDuration,
    Reactivate,
    Resend,
    Archive,
    Unarchive,
    Open,
    Decline,
    ShareResult,
    Start,
    Submit,
    EndAttempt,
    RecordResult,
    Verify,
    NotVerify,
    Expire,
    TimeLimitReached,
    IntegrityReviewDue,
}

impl CommandName {
    pub const ALL: [CommandName; 20] = [
        CommandName::Invite,
        CommandName::Delete,
        CommandName::ExtendExpiration,
        CommandName::EditDuration,
        CommandName::Reactivate,
        CommandName::Resend,
        CommandName::Archive,
        CommandName::Unarchive,
        CommandName::Open,
        CommandName::Decline,
        CommandName::ShareResult,
        CommandName::Start,
        CommandName::Submit,
        CommandName::EndAttempt,
        CommandName::RecordResult,
        CommandName::Verify,
        CommandName::NotVerify,
        CommandName::Expire,
        CommandName::TimeLimitReached,
        CommandName::IntegrityReviewDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::Invite => "invite",
            CommandName::Delete => "delete",
            CommandName::ExtendExpiration => "extendExpiration",
            CommandName::EditDuration => "editDuration",
            CommandName::Reactivate => "reactivate",
            CommandName::Resend => "resend",
            CommandName::Archive => "archive",
            CommandName::Unarchive => "unarchive",
            CommandName::Open => "open",
            CommandName::Decline => "decline",
            CommandName::ShareResult => "shareResult",
            CommandName::Start => "start",
            CommandName::Submit => "submit",
            CommandName::EndAttempt => "endAttempt",
            CommandName::RecordResult => "recordResult",
            CommandName::Verify => "verify",
            CommandName::NotVerify => "notVerify",
            CommandName::Expire => "expire",
            CommandName::TimeLimitReached => "timeLimitReached",
            CommandName::IntegrityReviewDue => "integrityReviewDue",
        }
    }

    pub fn actor(self) -> Actor {
        match self {
            CommandName::Invite
            | CommandName::Delete
            | CommandName::ExtendExpiration
            | CommandName::EditDuration
            | CommandName::Reactivate
            | CommandName::Resend
            | CommandName::Archive
            | CommandName::Unarchive => Actor::Customer,
            CommandName::Open
            | CommandName::Decline
            | CommandName::ShareResult
            | CommandName::Start
            | CommandName::Submit
            | CommandName::EndAttempt => Actor::Candidate,
            CommandName::RecordResult => Actor::Grader,
            CommandName::Verify | CommandName::NotVerify => Actor::Proctor,
            CommandName::Expire | CommandName::TimeLimitReached => Actor::Clock,
            CommandName::IntegrityReviewDue => Actor::Integrity,
        }
    }
}

/// One allowed transition of a session, with the events it fires in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: State,
    pub command: CommandName,
    pub to: State,
    pub events: &'static [EventKind],
    /// The transition also creates a new pending session (reactivation, technical retake).
    pub spawns: bool,
    /// The command is accepted but nothing is written (resend, re-open).
    pub no_write: bool,
}

impl Edge {
    /// What the diagrams write on this edge: `command [actor] / events`, and
    /// `(+ new pending session)` when it spawns one.
    pub fn label(&self) -> String {
        let events: Vec<&str> = self.events.iter().map(|k| k.name()).collect();
        let mut label = format!("{} [{}]", self.command.as_str(), self.command.actor().as_str());
        if !events.is_empty() {
            let _ = write!(label, " / {}", events.join(", "));
        }
        if self.spawns {
            label.push_str(" (+ new pending session)");
        }
        label
    }
}

const fn e(from: State, command: CommandName, to: State, events: &'static [EventKind]) -> Edge {
    Edge { from, command, to, events, spawns: false, no_write: false }
}

const fn spawn(from: State, command: CommandName, to: State, events: &'static [EventKind]) -> Edge {
    Edge { from, command, to, events, spawns: true, no_write: false }
}

const fn noop(from: State, command: CommandName) -> Edge {
    Edge { from, command, to: from, events: &[], spawns: false, no_write: true }
}

use CommandName as C;
use EventKind as K;
use State as S;

/// Every transition `decide` accepts.
pub const EDGES: &[Edge] = &[
    // customer
    e(S::Absent, C::Invite, S::Pending, &[K::CompanyTestSessionCreated]),
    e(S::Pending, C::Delete, S::Deleted, &[]),
    e(S::Active, C::Delete, S::Deleted, &[]),
    e(S::Finalizing, C::Delete, S::Deleted, &[]),
    e(S::AwaitingVerification, C::Delete, S::Deleted, &[]),
    e(S::Verified, C::Delete, S::Deleted, &[]),
    e(S::Rejected, C::Delete, S::Deleted, &[]),
    e(S::RetakeGranted, C::Delete, S::Deleted, &[]),
    e(S::IntegrityPending, C::Delete, S::Deleted, &[]),
    e(S::Completed, C::Delete, S::Deleted, &[]),
    e(S::Expired, C::Delete, S::Deleted, &[]),
    e(S::Declined, C::Delete, S::Deleted, &[]),
    e(S::Archived, C::Delete, S::Deleted, &[]),
    e(S::Pending, C::ExtendExpiration, S::Pending, &[]),
    e(S::Rejected, C::ExtendExpiration, S::Rejected, &[]),
    e(S::Pending, C::EditDuration, S::Pending, &[]),
    spawn(S::Expired, C::Reactivate, S::Expired, &[K::CompanyTestSessionCreated]),
    spawn(S::Declined, C::Reactivate, S::Declined, &[K::CompanyTestSessionCreated]),
    noop(S::Pending, C::Resend),
    e(S::Verified, C::Archive, S::Archived, &[]),
    e(S::RetakeGranted, C::Archive, S::Archived, &[]),
    e(S::Completed, C::Archive, S::Archived, &[]),
    e(S::Archived, C::Unarchive, S::Verified, &[]),
    e(S::Archived, C::Unarchive, S::RetakeGranted, &[]),
    e(S::Archived, C::Unarchive, S::Completed, &[]),
    // candidate
    e(S::Pending, C::Open, S::Pending, &[]),
    noop(S::Pending, C::Open),
    e(S::Pending, C::Decline, S::Declined, &[K::PreScreenCandidateDeclined]),
    e(S::Pending, C::ShareResult, S::Verified, &[K::PreScreenResultShared]),
    e(S::Pending, C::ShareResult, S::Completed, &[K::PreScreenResultShared]),
    e(S::Pending, C::Start, S::Active, &[K::CompanyTestSessionStarted]),
    e(S::Active, C::Submit, S::AwaitingVerification, &[K::PreScreenResultVerificationPending]),
    e(S::Active, C::Submit, S::IntegrityPending, &[K::CompanyTestSessionFinished]),
    e(S::Active, C::EndAttempt, S::Finalizing, &[]),
    // grader
    e(S::Finalizing, C::RecordResult, S::AwaitingVerification, &[K::PreScreenResultVerificationPending]),
    e(S::Finalizing, C::RecordResult, S::IntegrityPending, &[K::CompanyTestSessionFinished]),
    // proctor
    e(S::AwaitingVerification, C::Verify, S::Verified, &[K::PreScreenResultVerified]),
    e(S::AwaitingVerification, C::NotVerify, S::Rejected, &[K::PreScreenResultNotVerified]),
    spawn(S::AwaitingVerification, C::NotVerify, S::RetakeGranted, &[K::PreScreenResultNotVerified]),
    // clock
    e(S::Pending, C::Expire, S::Expired, &[K::PreScreenExpired]),
    e(S::Rejected, C::Expire, S::Expired, &[K::PreScreenExpired]),
    e(S::Active, C::TimeLimitReached, S::AwaitingVerification, &[K::PreScreenResultVerificationPending]),
    e(S::Active, C::TimeLimitReached, S::IntegrityPending, &[K::CompanyTestSessionFinished]),
    e(S::Active, C::TimeLimitReached, S::Finalizing, &[]),
    // integrity analysis
    e(S::IntegrityPending, C::IntegrityReviewDue, S::Completed, &[K::PreScreenIntegrityReviewUpdated]),
];

/// The edges leaving `from` by `command`.
pub fn edges_for(from: State, command: CommandName) -> impl Iterator<Item = &'static Edge> {
    EDGES.iter().filter(move |e| e.from == from && e.command == command)
}

/// Whether a decision (`from` → `to` by `command`, firing `events`) follows a declared edge.
pub fn allows(
    from: State,
    command: CommandName,
    to: State,
    events: &[EventKind],
    spawns: bool,
    no_write: bool,
) -> bool {
    edges_for(from, command).any(|e| e.to == to && e.events == events && e.spawns == spawns && e.no_write == no_write)
}

/// One step of a scripted path: a concrete intent, on the original session or on the session
/// the path spawned (the retake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Invite,
    Start,
    Submit,
    Verify,
    /// NotVerify for behaviour: no retake.
    Reject,
    /// NotVerify for a technical issue: a retake is granted.
    RejectTechnical,
    Share,
    Decline,
    Expire,
    IntegrityReview,
}

impl Act {
    pub fn command(self) -> CommandName {
        match self {
            Act::Invite => C::Invite,
            Act::Start => C::Start,
            Act::Submit => C::Submit,
            Act::Verify => C::Verify,
            Act::Reject | Act::RejectTechnical => C::NotVerify,
            Act::Share => C::ShareResult,
            Act::Decline => C::Decline,
            Act::Expire => C::Expire,
            Act::IntegrityReview => C::IntegrityReviewDue,
        }
    }
}

/// Which session a step acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Original,
    /// The session the last spawning step created.
    Spawned,
}

/// A path of PRODUCT.md's lifecycle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub name: &'static str,
    pub proctored: bool,
    /// Backed by a framework (a Certified Evaluation).
    pub certified: bool,
    pub steps: &'static [(Target, Act)],
    /// The session events the path fires, in order.
    pub events: &'static [EventKind],
}

use Act as A;
use Target::{Original as O, Spawned as N};

/// The seven paths of PRODUCT.md (reference §4.2).
pub const PATHS: &[Path] = &[
    Path {
        name: "not proctored, completed",
        proctored: false,
        certified: true,
        steps: &[(O, A::Invite), (O, A::Start), (O, A::Submit), (O, A::IntegrityReview)],
        events: &[
            K::CompanyTestSessionCreated,
            K::CompanyTestSessionStarted,
            K::CompanyTestSessionFinished,
            K::PreScreenIntegrityReviewUpdated,
        ],
    },
    Path {
        name: "proctored, verified",
        proctored: true,
        certified: true,
        steps: &[(O, A::Invite), (O, A::Start), (O, A::Submit), (O, A::Verify)],
        events: &[
            K::CompanyTestSessionCreated,
            K::CompanyTestSessionStarted,
            K::PreScreenResultVerificationPending,
            K::PreScreenResultVerified,
        ],
    },
    Path {
        name: "proctored, rejected",
        proctored: true,
        certified: true,
        steps: &[(O, A::Invite), (O, A::Start), (O, A::Submit), (O, A::Reject), (O, A::Expire)],
        events: &[
            K::CompanyTestSessionCreated,
            K::CompanyTestSessionStarted,
            K::PreScreenResultVerificationPending,
            K::PreScreenResultNotVerified,
            K::PreScreenExpired,
        ],
    },
    Path {
        name: "proctored, technical issue",
        proctored: true,
        certified: true,
        steps: &[
            (O, A::Invite),
            (O, A::Start),
            (O, A::Submit),
            (O, A::RejectTechnical),
            (N, A::Start),
            (N, A::Submit),
            (N, A::Verify),
        ],
        events: &[
            K::CompanyTestSessionCreated,
            K::CompanyTestSessionStarted,
            K::PreScreenResultVerificationPending,
            K::PreScreenResultNotVerified,
            K::CompanyTestSessionStarted,
            K::PreScreenResultVerificationPending,
            K::PreScreenResultVerified,
        ],
    },
    Path {
        name: "result re-shared",
        proctored: true,
        certified: true,
        steps: &[(O, A::Invite), (O, A::Share)],
        events: &[K::CompanyTestSessionCreated, K::PreScreenResultShared],
    },
    Path {
        name: "declined",
        proctored: false,
        certified: false,
        steps: &[(O, A::Invite), (O, A::Decline)],
        events: &[K::CompanyTestSessionCreated, K::PreScreenCandidateDeclined],
    },
    Path {
        name: "never started",
        proctored: false,
        certified: false,
        steps: &[(O, A::Invite), (O, A::Expire)],
        events: &[K::CompanyTestSessionCreated, K::PreScreenExpired],
    },
];

/// Inputs of [`walk`]. Ids are `{id_prefix}-…`, so a simulator passes a random prefix.
#[derive(Debug, Clone, Copy)]
pub struct WalkInput<'a> {
    pub company_id: &'a CompanyId,
    pub id_prefix: &'a str,
    pub start: Timestamp,
    pub public_url: &'a str,
    pub candidate_email: &'a str,
}

/// What walking a path produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    pub test: CompanyTest,
    /// Every change, in order: the test's creation first, then one per step.
    pub changes: Vec<Change>,
    /// The final state of every session the path touched, original first.
    pub sessions: Vec<CompanyTestSession>,
}

impl Walk {
    /// The session events fired, in order (the test's `assessmentCreated` excluded).
    pub fn session_events(&self) -> Vec<&DomainEvent> {
        self.changes.iter().flat_map(|c| &c.events).filter(|e| e.session_id.is_some()).collect()
    }
}

fn id<T>(parse: fn(String) -> Result<T, crate::ids::IdError>, prefix: &str, suffix: &str) -> Result<T, DomainError> {
    parse(format!("{prefix}-{suffix}"))
        .map_err(|e| DomainError::invalid("idPrefix", e.to_string(), "letters, digits, '-' and '_'"))
}

/// The framework [`walk`] uses for certified paths.
pub const WALK_FRAMEWORK: &str = "general-coding";

fn walk_framework() -> Result<FrameworkId, DomainError> {
    FrameworkId::parse(WALK_FRAMEWORK).map_err(|e| DomainError::invalid("frameworkId", e.to_string(), "a catalogue id"))
}

/// Runs `path` through [`test::decide`] and [`session::decide`], advancing time plausibly
/// (start a day after the invitation, submit after 58 minutes, review the next day, clock
/// commands exactly when due).
pub fn walk(path: &Path, input: &WalkInput<'_>) -> Result<Walk, DomainError> {
    let p = input.id_prefix;
    let ctx = Ctx { public_url: input.public_url };
    let mut now = input.start;
    let test_id: TestId = id(TestId::parse, p, "test")?;
    let test_cmd = if path.certified {
        TestCommand::CreateFromFramework(NewFrameworkTest {
            id: test_id,
            company_id: input.company_id.clone(),
            framework_id: walk_framework()?,
            title: format!("{} (simulated)", path.name),
            external_title: "Coding assessment".into(),
            internal_description: None,
            proctored: path.proctored,
            default_expiration: None,
            result_date_limit: Some(Millis::days(365)),
            labels: vec!["simulation".into()],
        })
    } else {
        TestCommand::Create(NewTest {
            id: test_id,
            company_id: input.company_id.clone(),
            title: format!("{} (simulated)", path.name),
            external_title: "Coding assessment".into(),
            internal_description: None,
            proctored: path.proctored,
            duration: Millis::minutes(70),
            default_expiration: None,
            labels: vec!["simulation".into()],
        })
    };
    let created = test::decide(None, test_cmd, now)?;
    let Some((test, _)) = created.tests.first().cloned() else {
        return Err(DomainError::NotFound { aggregate: "test", command: "createCompanyTest" });
    };
    let mut changes = vec![created];
    let mut original: Option<CompanyTestSession> = None;
    let mut spawned: Option<CompanyTestSession> = None;
    for (n, (target, act)) in path.steps.iter().enumerate() {
        let current = match target {
            Target::Original => original.clone(),
            Target::Spawned => spawned.clone(),
        };
        let tok = |what: &str| format!("{p}-{what}-{n}");
        let submission = Submission {
            score: if path.certified { 1100 } else { 900 },
            max_score: (!path.certified).then_some(1000),
            area_points: Vec::new(),
            report_token: tok("report"),
            integrity_suggested: false,
            integrity_review_delay: Millis::HOUR,
            plagiarism: None,
        };
        let cmd = match act {
            Act::Invite => SessionCommand::Invite(Box::new(Invite {
                session_id: id(SessionId::parse, p, "session")?,
                candidate_token: tok("candidate"),
                test: test.clone(),
                candidate_first_name: "Jane".into(),
                candidate_last_name: "Doe".into(),
                candidate_email: input.candidate_email.into(),
                external_id: Some(format!("{p}-ats")),
                expire_duration: None,
                custom_duration: None,
                integrations: Integrations::default(),
                prefer_existing: false,
                existing: None,
            })),
            Act::Start => {
                now = now.plus(Millis::DAY);
                SessionCommand::Start(Start::default())
            }
            Act::Submit => {
                now = now.plus(Millis::minutes(58));
                SessionCommand::Submit(submission)
            }
            Act::Verify => {
                now = now.plus(Millis::DAY);
                SessionCommand::Verify
            }
            Act::Reject | Act::RejectTechnical => {
                now = now.plus(Millis::DAY);
                let technical = *act == Act::RejectTechnical;
                SessionCommand::NotVerify(NotVerify {
                    reasons: vec![if technical {
                        RejectionReason {
                            name: "Incomplete recording".into(),
                            description: "The recording stopped early.".into(),
                        }
                    } else {
                        RejectionReason {
                            name: "Presence of others".into(),
                            description: "Another person was in the room.".into(),
                        }
                    }],
                    retake: technical
                        .then(|| {
                            Ok::<_, DomainError>(Retake {
                                session_id: id(SessionId::parse, p, "retake")?,
                                candidate_token: tok("retake"),
                            })
                        })
                        .transpose()?,
                })
            }
            Act::Share => {
                now = now.plus(Millis::DAY);
                let finished = input.start.plus(Millis::from_millis(-Millis::days(30).as_millis()));
                SessionCommand::ShareResult(Box::new(ShareResult {
                    result: TestResult {
                        score: 1100,
                        max_score: 1300,
                        coding_score_2023: Some(crate::framework::assessment_score(1100, 1300)),
                        legacy_coding_score: Some(crate::framework::legacy_coding_score(1100, 1300)),
                        skill_areas: Vec::new(),
                        duration: Millis::minutes(62),
                        report_access_token: tok("prior-report"),
                        source_session_id: id(SessionId::parse, p, "prior")?,
                        started_at: finished.plus(Millis::from_millis(-Millis::minutes(62).as_millis())),
                        finished_at: finished,
                        plagiarism: None,
                    },
                    framework_id: walk_framework()?,
                    verified: true,
                    result_date_limit: test.result_date_limit,
                }))
            }
            Act::Decline => {
                now = now.plus(Millis::DAY);
                SessionCommand::Decline
            }
            Act::Expire | Act::IntegrityReview => {
                if let Some(d) = current.as_ref().and_then(|s| s.next_deadline()) {
                    now = now.max(d.due);
                }
                if *act == Act::Expire { SessionCommand::Expire } else { SessionCommand::IntegrityReviewDue }
            }
        };
        let change = session::decide(current.as_ref(), cmd, &ctx, now)?.into_change();
        for (s, _) in &change.sessions {
            if original.is_none() || original.as_ref().is_some_and(|o| o.id == s.id) {
                original = Some(s.clone());
            } else {
                spawned = Some(s.clone());
            }
        }
        changes.push(change);
    }
    let sessions = original.into_iter().chain(spawned).collect();
    Ok(Walk { test, changes, sessions })
}

/// The lifecycle as a Mermaid state diagram (`stateDiagram-v2`), one arrow per edge, labelled
/// `command [actor] / events`.
pub fn to_mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n");
    for edge in EDGES {
        if edge.no_write {
            continue;
        }
        let _ = writeln!(out, "    {} --> {} : {}", edge.from.node(), edge.to.node(), edge.label());
    }
    out
}

pub use svg::to_svg;

/// Whether this decision spawned a second session and wrote anything at all, as [`allows`]
/// needs them.
pub fn shape(decision: &Decision) -> (bool, bool) {
    match decision {
        Decision::Apply(c) => (c.sessions.len() > 1, c.sessions.is_empty()),
        Decision::Existing(_) => (false, true),
    }
}

/// Consistency rules every reachable session satisfies; `Err` names the first one broken.
/// The property tests check them after every accepted command; stores may check them on load.
pub fn invariants(s: &CompanyTestSession) -> Result<(), String> {
    let fail = |rule: &str| Err(format!("session {}: {rule}", s.id));
    if s.version == 0 {
        return fail("version starts at 1");
    }
    if s.status == SessionStatus::Over && (s.result.is_none() || s.finish_date.is_none()) {
        return fail("an over session has a result and a finish date");
    }
    if s.status == SessionStatus::Finalizing
        && (s.result.is_some() || s.finish_date.is_none() || s.verification_status.is_some())
    {
        return fail("a finalizing session has a finish date, and no result or verification yet");
    }
    if s.result.is_some()
        && !matches!(
            s.status,
            SessionStatus::Over | SessionStatus::Archived | SessionStatus::Expired | SessionStatus::Deleted
        )
    {
        return fail("only over, archived, expired (rejected) or deleted sessions keep a result");
    }
    if s.status == SessionStatus::Expired
        && s.result.is_some()
        && s.verification_status != Some(VerificationStatus::NotVerified)
    {
        return fail("an expired session keeps a result only when it was rejected");
    }
    if s.verification_status.is_some() && !s.proctored {
        return fail("only proctored sessions have a verification status");
    }
    if matches!(s.status, SessionStatus::Pending | SessionStatus::Active)
        && (s.result.is_some() || s.verification_status.is_some())
    {
        return fail("a pending or active session has no result and no verification");
    }
    if s.status == SessionStatus::Active && s.start_date.is_none() {
        return fail("an active session has a start date");
    }
    if let (Some(start), Some(finish)) = (s.start_date, s.finish_date)
        && start > finish
    {
        return fail("start date <= finish date");
    }
    if matches!(
        s.status,
        SessionStatus::Expired | SessionStatus::Declined | SessionStatus::Deleted | SessionStatus::Archived
    ) && s.next_deadline().is_some()
    {
        return fail("a closed session has no timer");
    }
    if s.retake_session.is_some() && s.verification_status != Some(VerificationStatus::NotVerified) {
        return fail("a retake is granted only after a rejection");
    }
    if s.retake_session.as_ref() == Some(&s.id) || s.retake_of.as_ref() == Some(&s.id) {
        return fail("a session is not its own retake");
    }
    if s.integrity.suggested.is_some() && (!s.integrity.finalized || s.proctored) {
        return fail("integrityReviewSuggested is published only for finalized non-proctored reviews");
    }
    if s.reactivated_session.is_some()
        && !matches!(s.status, SessionStatus::Expired | SessionStatus::Declined | SessionStatus::Deleted)
    {
        return fail("only expired or declined sessions are reactivated");
    }
    if s.verification_status == Some(VerificationStatus::NotVerified) {
        if s.verification_rejection_reasons.is_empty() && s.retake_session.is_none() {
            return fail("a rejection without a retake has reasons");
        }
    } else if !s.verification_rejection_reasons.is_empty() {
        return fail("rejection reasons only on rejected sessions");
    }
    Ok(())
}
