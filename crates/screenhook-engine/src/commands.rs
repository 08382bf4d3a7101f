//! Customer, candidate and proctor commands: the engine adds what the pure domain may not
//! produce itself (ids, tokens, the company's time) and what it must not look up itself
//! (the test invited to, the candidate's history), then decides and commits.

use screenhook_domain::{
    Change, Company, CompanyId, CompanyTest, CompanyTestSession, DomainError, Guard, Integrations, Millis,
    PlagiarismLabel, RejectionReason, SessionId, TestId, Timestamp, VerificationStatus,
    session::{
        self, Ctx, Decision, Invite, NotVerify, Reactivate, Retake, SessionCommand, ShareResult, Start, Submission,
    },
    test::{self, TestCommand},
};
use screenhook_store::{Applied, random_id, time_ordered_id};
use subtle::ConstantTimeEq;

use crate::{Engine, EngineError};

/// Length of generated test and session ids, as in CodeSignal's `'2TgbrRMkBiksAXqEd'`.
const ID_LEN: usize = 17;
/// Length of the secret of candidate-link and report access tokens (~190 bits).
const TOKEN_LEN: usize = 32;

pub fn new_session_id() -> SessionId {
    SessionId::parse(time_ordered_id("", ID_LEN - 7)).expect("generated ids use the id alphabet")
}

pub fn new_test_id() -> TestId {
    TestId::parse(time_ordered_id("", ID_LEN - 7)).expect("generated ids use the id alphabet")
}

/// A secret token (report links).
pub fn new_token() -> String {
    random_id("", TOKEN_LEN)
}

/// The token of a session's candidate link: the session id, then a secret.
pub fn candidate_token(session: &SessionId) -> String {
    format!("{session}.{}", random_id("", TOKEN_LEN))
}

impl Engine {
    /// The session a candidate link's token opens, of any company (the token is the
    /// credential), or `None`. The store only looks the id up; the secret is compared here,
    /// in constant time, like API keys — so credentials are decided in one layer.
    pub async fn session_by_candidate_token(&self, token: &str) -> Result<Option<CompanyTestSession>, EngineError> {
        let Some(id) = token.split_once('.').and_then(|(id, _)| SessionId::parse(id).ok()) else {
            return Ok(None);
        };
        let Some(session) = self.store.session_unscoped(&id).await? else { return Ok(None) };
        let matches: bool = session.candidate_token.as_bytes().ct_eq(token.as_bytes()).into();
        Ok(matches.then_some(session))
    }
}

/// `createCompanyTestSession` as the API receives it.
#[derive(Debug, Clone)]
pub struct InviteInput {
    pub test_id: TestId,
    pub candidate_first_name: String,
    pub candidate_last_name: String,
    pub candidate_email: String,
    pub external_id: Option<String>,
    pub expire_duration: Option<Millis>,
    pub custom_duration: Option<Millis>,
    pub integrations: Integrations,
    pub prefer_existing: bool,
}

/// Session commands as actors send them, without the ids, tokens and lookups the engine adds.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    Delete,
    ExtendExpiration {
        expiration_date: Timestamp,
    },
    EditDuration {
        custom_duration: Millis,
    },
    Reactivate {
        expire_duration: Option<Millis>,
    },
    Resend,
    Archive,
    Unarchive,
    Open,
    Decline,
    /// Share an earlier verified result of the same framework: the given session's, or the
    /// best one when `None`.
    ShareResult {
        source: Option<SessionId>,
    },
    Start,
    /// The candidate submits their own result: sandbox companies only.
    Submit {
        score: u32,
        max_score: Option<u32>,
        area_points: Vec<u32>,
        integrity_suggested: bool,
    },
    /// The candidate ends the attempt; the grader scores it.
    EndAttempt,
    /// The grader (assessment engine) records the result of an ended attempt.
    RecordResult {
        score: u32,
        max_score: Option<u32>,
        area_points: Vec<u32>,
        integrity_suggested: bool,
        plagiarism: Option<PlagiarismLabel>,
    },
    Verify,
    NotVerify {
        reasons: Vec<RejectionReason>,
        technical_issue: bool,
    },
}

/// What a committed session command produced.
#[derive(Debug, Clone)]
pub struct SessionOutcome {
    /// The session the command addressed, as it is now.
    pub session: CompanyTestSession,
    /// A session the command created beside it (reactivation, technical retake).
    pub created: Option<CompanyTestSession>,
    pub applied: Applied,
}

impl Engine {
    /// The company's current time (sandbox companies may run ahead).
    pub async fn company_now(&self, company: &CompanyId) -> Result<Timestamp, EngineError> {
        Ok(self.company(company).await?.now(self.clock.now()))
    }

    /// The company, from this process's one-second cache when it can.
    pub async fn company(&self, company: &CompanyId) -> Result<Company, EngineError> {
        if let Some(cached) = self.cache.company(company) {
            return Ok(cached);
        }
        let stored = self
            .store
            .company(company)
            .await?
            .ok_or_else(|| EngineError::NotFound { what: "company", id: company.to_string() })?;
        self.cache.put_company(stored.clone());
        Ok(stored)
    }

    /// A company was changed behind the engine's back (renamed, disabled or enabled by the
    /// operator): this process forgets its copy and the keys it verified, so a disabled
    /// company's keys are refused here at once (other processes within their cache's second).
    pub fn forget_company(&self, company: &CompanyId) {
        self.cache.forget_company(company);
        self.cache.forget_keys();
    }

    /// Saves a changed company (a sandbox clock advance) and forgets this process's copy.
    pub async fn update_company(&self, company: &Company) -> Result<(), EngineError> {
        self.store.update_company(company).await?;
        self.cache.forget_company(&company.id);
        Ok(())
    }

    /// Creates a Pre-Screen (`TestCommand::Create` or `CreateFromFramework`, whose id and
    /// company fields are overwritten with a new id and `company`).
    pub async fn create_test(
        &self,
        company: &CompanyId,
        cmd: TestCommand,
    ) -> Result<(CompanyTest, Applied), EngineError> {
        let id = new_test_id();
        let cmd = match cmd {
            TestCommand::Create(mut new) => {
                new.id = id;
                new.company_id = company.clone();
                TestCommand::Create(new)
            }
            TestCommand::CreateFromFramework(mut new) => {
                new.id = id;
                new.company_id = company.clone();
                TestCommand::CreateFromFramework(new)
            }
            other => {
                return Err(
                    screenhook_domain::DomainError::NotFound { aggregate: "test", command: other.name() }.into()
                );
            }
        };
        let now = self.company_now(company).await?;
        let change = test::decide(None, cmd, now)?;
        let test = written_test(&change).expect("a creation writes the test");
        let applied = self.store.apply(change).await?;
        self.cache.put_test(test.clone());
        Ok((test, applied))
    }

    /// Any other Pre-Screen command.
    pub async fn test_command(
        &self,
        company: &CompanyId,
        id: &TestId,
        cmd: TestCommand,
    ) -> Result<(CompanyTest, Applied), EngineError> {
        let (test, applied) = self
            .commit(|| async {
                let current = self.load_test(company, id).await?;
                let now = self.company_now(company).await?;
                let change = test::decide(Some(&current), cmd.clone(), now)?;
                let test = written_test(&change).unwrap_or(current);
                Ok((change, test))
            })
            .await?;
        self.cache.put_test(test.clone());
        Ok((test, applied))
    }

    /// `createCompanyTestSession`.
    pub async fn invite(&self, company: &CompanyId, input: InviteInput) -> Result<SessionOutcome, EngineError> {
        let session_id = new_session_id();
        let candidate_token = candidate_token(&session_id);
        let retry = std::sync::atomic::AtomicBool::new(false);
        let (decision, applied) = self
            .commit(|| async {
                // The first try may use a cached test; the guard below catches a stale one,
                // and every retry reads afresh.
                let first_try = !retry.swap(true, std::sync::atomic::Ordering::Relaxed);
                let test = match self.cache.test(company, &input.test_id).filter(|_| first_try) {
                    Some(cached) => cached,
                    None => {
                        let fresh = self.load_test(company, &input.test_id).await?;
                        self.cache.put_test(fresh.clone());
                        fresh
                    }
                };
                let guard = Guard { company_id: company.clone(), test_id: test.id.clone(), version: test.version };
                let existing = if input.prefer_existing && !input.candidate_email.is_empty() {
                    let email = input.candidate_email.trim().to_lowercase();
                    self.store.pending_session_for(company, &test.id, &email).await?
                } else {
                    None
                };
                let now = self.company_now(company).await?;
                let invite = Invite {
                    session_id: session_id.clone(),
                    candidate_token: candidate_token.clone(),
                    test,
                    candidate_first_name: input.candidate_first_name.clone(),
                    candidate_last_name: input.candidate_last_name.clone(),
                    candidate_email: input.candidate_email.clone(),
                    external_id: input.external_id.clone(),
                    expire_duration: input.expire_duration,
                    custom_duration: input.custom_duration,
                    integrations: input.integrations.clone(),
                    prefer_existing: input.prefer_existing,
                    existing,
                };
                let decision = session::decide(None, SessionCommand::Invite(Box::new(invite)), &self.ctx(), now)?;
                let mut change = decision.clone().into_change();
                if !change.is_empty() {
                    change.guards.push(guard);
                }
                Ok((change, decision))
            })
            .await?;
        let session = match decision {
            Decision::Existing(existing) => *existing,
            Decision::Apply(change) => written_session(&change, &session_id).expect("an invitation writes its session"),
        };
        Ok(SessionOutcome { session, created: None, applied })
    }

    /// A command on an existing session, by any actor. Callers have checked that the actor may
    /// send it (API key permission, candidate token, proctor role).
    pub async fn session_command(
        &self,
        company: &CompanyId,
        id: &SessionId,
        action: SessionAction,
    ) -> Result<SessionOutcome, EngineError> {
        // Generated once, so a retried decision creates the same ids.
        let new_id = new_session_id();
        let (new_token, report_token) = (candidate_token(&new_id), new_token());
        let ((session, created), applied) = self
            .commit(|| async {
                let current = self.load_session(company, id).await?;
                let now = self.company_now(company).await?;
                let cmd = self.command_for(&current, action.clone(), &new_id, &new_token, &report_token).await?;
                let change = session::decide(Some(&current), cmd, &self.ctx(), now)?.into_change();
                let session = written_session(&change, id).unwrap_or(current);
                let created = written_session(&change, &new_id);
                Ok((change, (session, created)))
            })
            .await?;
        Ok(SessionOutcome { session, created, applied })
    }

    pub(crate) fn ctx(&self) -> Ctx<'_> {
        Ctx { public_url: &self.config.public_url }
    }

    pub(crate) fn submission_timeout(&self, report_token: String) -> Submission {
        Submission::empty(report_token, self.config.integrity_review_delay)
    }

    async fn command_for(
        &self,
        current: &CompanyTestSession,
        action: SessionAction,
        new_id: &SessionId,
        new_token: &str,
        report_token: &str,
    ) -> Result<SessionCommand, EngineError> {
        Ok(match action {
            SessionAction::Delete => SessionCommand::Delete,
            SessionAction::ExtendExpiration { expiration_date } => SessionCommand::ExtendExpiration { expiration_date },
            SessionAction::EditDuration { custom_duration } => SessionCommand::EditDuration { custom_duration },
            SessionAction::Reactivate { expire_duration } => SessionCommand::Reactivate(Reactivate {
                new_session_id: new_id.clone(),
                candidate_token: new_token.to_owned(),
                expire_duration,
            }),
            SessionAction::Resend => SessionCommand::Resend,
            SessionAction::Archive => SessionCommand::Archive,
            SessionAction::Unarchive => SessionCommand::Unarchive,
            SessionAction::Open => SessionCommand::Open,
            SessionAction::Decline => SessionCommand::Decline,
            SessionAction::ShareResult { source } => self.share_command(current, source.as_ref()).await?,
            SessionAction::Start => {
                let previous_attempts = match &current.framework_id {
                    Some(framework) => self
                        .store
                        .sessions_of_candidate(&current.candidate.email, framework)
                        .await?
                        .into_iter()
                        .filter(|s| s.id != current.id)
                        .filter_map(|s| s.start_date)
                        .collect(),
                    None => Vec::new(),
                };
                SessionCommand::Start(Start { previous_attempts })
            }
            SessionAction::Submit { score, max_score, area_points, integrity_suggested } => {
                if !self.company(&current.company_id).await?.sandbox {
                    return Err(DomainError::Invalid {
                        field: "score",
                        problem: "a candidate cannot set a score outside a sandbox company: the assessment engine \
                                  records the result (recordCompanyTestSessionResult, with a grader key)"
                            .into(),
                        allowed: "no body, to end the attempt".into(),
                    }
                    .into());
                }
                SessionCommand::Submit(Submission {
                    score,
                    max_score,
                    area_points,
                    report_token: report_token.to_owned(),
                    integrity_suggested,
                    integrity_review_delay: self.config.integrity_review_delay,
                    plagiarism: None,
                })
            }
            SessionAction::EndAttempt => SessionCommand::EndAttempt,
            SessionAction::RecordResult { score, max_score, area_points, integrity_suggested, plagiarism } => {
                SessionCommand::RecordResult(Submission {
                    score,
                    max_score,
                    area_points,
                    report_token: report_token.to_owned(),
                    integrity_suggested,
                    integrity_review_delay: self.config.integrity_review_delay,
                    plagiarism,
                })
            }
            SessionAction::Verify => SessionCommand::Verify,
            SessionAction::NotVerify { reasons, technical_issue } => SessionCommand::NotVerify(NotVerify {
                reasons,
                retake: technical_issue
                    .then(|| Retake { session_id: new_id.clone(), candidate_token: new_token.to_owned() }),
            }),
        })
    }

    /// Finds the result a candidate re-shares: verified, of this session's framework.
    async fn share_command(
        &self,
        current: &CompanyTestSession,
        source: Option<&SessionId>,
    ) -> Result<SessionCommand, EngineError> {
        let not_found = |id: String| EngineError::NotFound { what: "verified result to share", id };
        let Some(framework) = current.framework_id.clone() else {
            // Only Certified Evaluations accept shared results: a custom test has no framework
            // whose results could stand in for it.
            return Err(EngineError::NotFound {
                what: "framework of the test (custom Pre-Screens accept no shared results); session",
                id: current.id.to_string(),
            });
        };
        let history = self.store.sessions_of_candidate(&current.candidate.email, &framework).await?;
        let candidates = history.into_iter().filter(|s| {
            s.id != current.id
                && s.result.is_some()
                && s.retake_of.as_ref() != Some(&current.id)
                && (s.verification_status == Some(VerificationStatus::Verified))
        });
        let chosen = match source {
            Some(wanted) => {
                candidates.into_iter().find(|s| &s.id == wanted).ok_or_else(|| not_found(wanted.to_string()))?
            }
            None => candidates
                .max_by_key(|s| s.result.as_ref().map(|r| (r.coding_score_2023, r.score)))
                .ok_or_else(|| not_found(format!("for {} on framework {framework}", current.candidate.email)))?,
        };
        let result_date_limit =
            self.store.test(&current.company_id, &current.test_id).await?.and_then(|t| t.result_date_limit);
        Ok(SessionCommand::ShareResult(Box::new(ShareResult {
            result: chosen.result.clone().expect("filtered on a result"),
            framework_id: framework,
            verified: true,
            result_date_limit,
        })))
    }

    async fn load_test(&self, company: &CompanyId, id: &TestId) -> Result<CompanyTest, EngineError> {
        self.store.test(company, id).await?.ok_or_else(|| EngineError::NotFound { what: "test", id: id.to_string() })
    }

    async fn load_session(&self, company: &CompanyId, id: &SessionId) -> Result<CompanyTestSession, EngineError> {
        self.store
            .session(company, id)
            .await?
            .ok_or_else(|| EngineError::NotFound { what: "test session", id: id.to_string() })
    }
}

fn written_test(change: &Change) -> Option<CompanyTest> {
    change.tests.first().map(|(test, _)| test.clone())
}

fn written_session(change: &Change, id: &SessionId) -> Option<CompanyTestSession> {
    change.sessions.iter().find(|(s, _)| &s.id == id).map(|(s, _)| s.clone())
}
