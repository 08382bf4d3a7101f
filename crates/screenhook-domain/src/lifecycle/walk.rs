//! Walking a [`Path`] through the real deciders, for tests (feature `test-support`): the
//! path table's tests, the payload snapshots and the property tests start from it.

use super::{Act, Path, Target};
use crate::{
    change::Change,
    error::DomainError,
    event::DomainEvent,
    ids::{CompanyId, FrameworkId, SessionId, TestId},
    model::{CompanyTest, CompanyTestSession, Integrations, RejectionReason, TestResult},
    session::{self, Ctx, Decision, Invite, NotVerify, Retake, SessionCommand, ShareResult, Start, Submission},
    test::{self, NewFrameworkTest, NewTest, TestCommand},
    time::{Millis, Timestamp},
};

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

/// Whether this decision spawned a second session and wrote anything at all, as [`allows`]
/// needs them.
pub fn shape(decision: &Decision) -> (bool, bool) {
    match decision {
        Decision::Apply(c) => (c.sessions.len() > 1, c.sessions.is_empty()),
        Decision::Existing(_) => (false, true),
    }
}
