//! The invitation lifecycle as data: states, commands and their actors, the edges between
//! states with the events each fires, and the seven paths (the table in `docs/LIFECYCLE.md`).
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
    event::EventKind,
    model::{CompanyTestSession, SessionStatus, VerificationStatus},
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

/// A path through the lifecycle, with the events it fires.
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

/// The seven paths, as CodeSignal's event flow implies them (`docs/LIFECYCLE.md`).
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

#[cfg(feature = "test-support")]
mod walk;
#[cfg(feature = "test-support")]
pub use walk::{WALK_FRAMEWORK, Walk, WalkInput, shape, walk};

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
