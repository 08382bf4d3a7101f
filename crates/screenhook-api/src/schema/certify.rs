//! Certify GraphQL, still answered: `certificationRequest`,
//! `expiredCertificationRequests`, `createCertificationRequest` and `revokeCertificationRequest`,
//! which CodeSignal removed on 2025-03-06, answered over Pre-Screen data so a Certify-era client
//! keeps working while it migrates. Each operation is `@deprecated` with the Pre-Screen
//! operation to use instead, and every answer repeats that in `extensions.deprecations`
//! ([`super::deprecations`]). All need the `sessions` permission; `bestResult` also `results`.
//!
//! # The model
//! - A **certification request** is an invitation (a session) to a Certified Evaluation, with
//!   the technical retakes that replaced it (`retakeSession`, followed to the newest: Certify
//!   kept a request open for retakes). Its `id` is the `certificationRequestId` the legacy
//!   bridge puts in Certify webhooks: the invitation's session id, or for a retake the session
//!   it replaces. Looking up any session of a Certified Evaluation by id answers that session
//!   and its retakes. A request imported from a Certify export keeps its Certify id: `id` is
//!   that id, and lookups accept it as well as the session id.
//! - Its **test** (`testId`, `test`) is the framework behind the Certified Evaluation: the
//!   `StandardizedTest` that `certificationTests` lists. Where a Certify operation takes a test
//!   id, that framework id or a Certified Evaluation's `CompanyTest` id is accepted.
//! - **`lastStatus`** is the current (newest) session's: pending → `pending`; active →
//!   `testStarted`; submitted and awaiting verification, or not verified (not final, as in
//!   Certify) → `testTaken`; verified, re-shared, or finished unproctored (final at once: the
//!   bridge fires `certificationResultShared` then) → `shared`; declined → `rejected`; expired →
//!   `expired`. An archived session reads as the result it holds.
//! - **`bestResult`** is the highest shared result of the request's sessions, scored as
//!   Certify's `codingScore` (the original-scale score where known, as in the bridge's payloads).
//! - **Revoked**: `revokeCertificationRequest` deletes the current session, as
//!   `deleteCompanyTestSession` does. `CertificationRequestStatus` has no value for that, so a
//!   request whose current session is deleted is not answered: lookups say it was revoked.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use screenhook_domain::{
    CertificationRequestId, CompanyId, CompanyTest, CompanyTestSession, FrameworkId, Permission, SessionId,
    SessionStatus, TestId, TestStatus, Timestamp, VerificationStatus, catalogue, framework,
    payload::certify_coding_score, validate,
};
use screenhook_engine::{Engine, InviteInput, SessionAction};
use screenhook_store::{Page, SessionFilter};

use super::{
    allowed,
    catalogue::{StandardizedTest, own_company},
    engine, list_cost, millis, page, paginate, parse_id,
    types::{CompanyObj, Integrations, PageInfo, Ts, candidate_link},
};
use crate::error::{ApiError, Code};

/// The most sessions followed along a retake chain. Each retake needs a proctor's
/// technical-issue rejection, so real chains hold one or two; a longer one is corrupt data.
const MAX_CHAIN: usize = 64;
/// Sessions read per store call while listing expired requests.
const SCAN_PAGE: u32 = 500;

const LOOKUP_MODES: &str = "requestId alone, or candidateEmail with testId; either optionally with your own companyId";
const TEST_IDS: &str = "a certificationTests id (a framework, such as general-coding) or the id of a Certified \
                        Evaluation (a Pre-Screen created with createCompanyTestFromFramework)";

#[derive(Default)]
pub struct CertifyQuery;

#[derive(Default)]
pub struct CertifyMutation;

/// Deprecated with Certify GraphQL: the status of a certification request. Pre-Screen: `CompanyTestSession.status` with
/// `verificationStatus`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum CertificationRequestStatus {
    TestStarted,
    TestTaken,
    Shared,
    Rejected,
    Expired,
    Pending,
}

/// Deprecated with Certify GraphQL. Finds a certification request: by `requestId`, or by
/// `candidateEmail` and `testId` (the candidate's newest request for that test); `companyId`,
/// when given, must be the API key's company.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CertificationRequestInput {
    /// The request's id (`certificationRequestId` in Certify webhooks).
    pub request_id: Option<ID>,
    pub candidate_email: Option<String>,
    /// A `certificationTests` id, or a Certified Evaluation's `CompanyTest` id.
    pub test_id: Option<ID>,
    pub company_id: Option<ID>,
}

/// Deprecated with Certify GraphQL; Pre-Screen: `TestSessionInput` of `createCompanyTestSession`.
#[derive(InputObject, Debug, Clone)]
pub struct CreateCertificationRequestInput {
    /// First name, a space, last name (`candidateFirstName` and `candidateLastName`).
    pub candidate_name: String,
    pub candidate_email: String,
    /// A `certificationTests` id (when exactly one active Certified Evaluation is built on that
    /// framework), or a Certified Evaluation's `CompanyTest` id.
    pub test_id: ID,
    /// When given, must be the API key's company.
    pub company_id: Option<ID>,
    /// Time allowed once started, in ms (1 minute – 24 hours; `customDuration`).
    pub custom_duration: Option<i32>,
    /// The invitation window, in ms (1 day – 6 months; `expireDuration`).
    pub certification_expire_duration: Option<f64>,
    /// Echoed in webhooks (at most 256 characters).
    pub external_id: Option<String>,
}

/// Deprecated with Certify GraphQL; Pre-Screen: `CompanyTestSession.result` and `finishDate`.
#[derive(SimpleObject, Debug, Clone)]
pub struct CertificationRequestResult {
    /// The session whose attempt produced the result (another one for a re-shared result).
    pub test_session_id: ID,
    /// The original-scale score where known, else the Assessment Score
    /// (`result.versionedCodingScore`).
    pub coding_score: Option<i32>,
    /// When the attempt finished.
    pub date: Option<Ts>,
}

/// Deprecated with Certify GraphQL; Pre-Screen: `companyTestSessions`.
#[derive(SimpleObject)]
pub struct CertificationRequests {
    pub total_count: i32,
    pub certification_requests: Vec<CertificationRequest>,
    pub page_info: PageInfo,
}

/// A request: see the module docs.
pub struct CertificationRequest {
    /// The Certify id of an imported request, else the invitation's session id.
    id: String,
    framework: FrameworkId,
    status: CertificationRequestStatus,
    /// The invitation first, then its retakes; never empty.
    sessions: Vec<CompanyTestSession>,
}

impl CertificationRequest {
    fn current(&self) -> &CompanyTestSession {
        self.sessions.last().expect("a request has a session")
    }
}

/// Deprecated with Certify GraphQL: a certification request is an invitation to a Certified
/// Evaluation (`CompanyTestSession`) with its technical retakes.
#[Object]
impl CertificationRequest {
    /// `certificationRequestId` in Certify webhooks: the invitation's session id (for a
    /// retake, the session it replaces); for a request imported from Certify, its Certify id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    async fn company_id(&self) -> ID {
        ID(self.current().company_id.to_string())
    }

    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CompanyObj>> {
        let company = engine(ctx).store.company(&self.current().company_id).await.map_err(ApiError::from)?;
        Ok(company.map(CompanyObj))
    }

    /// The framework behind the Certified Evaluation (a `certificationTests` id).
    async fn test_id(&self) -> ID {
        ID(self.framework.to_string())
    }

    async fn test(&self) -> Option<StandardizedTest> {
        framework(&self.framework).map(StandardizedTest)
    }

    /// Pre-Screen: `CompanyTestSession.status` and `verificationStatus`.
    async fn last_status(&self) -> CertificationRequestStatus {
        self.status
    }

    async fn candidate_email(&self) -> &str {
        &self.current().candidate.email
    }

    async fn candidate_name(&self) -> String {
        self.current().candidate.full_name()
    }

    /// The highest shared result. Needs the `results` permission. Pre-Screen:
    /// `CompanyTestSession.result` and `finishDate`.
    async fn best_result(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CertificationRequestResult>> {
        allowed(ctx, Permission::Results)?;
        let best = self
            .sessions
            .iter()
            .filter(|s| shared(s))
            .filter_map(|s| s.result.as_ref())
            .max_by_key(|r| (certify_coding_score(r), r.finished_at));
        Ok(best.map(|r| CertificationRequestResult {
            test_session_id: ID(r.source_session_id.to_string()),
            coding_score: Some(certify_coding_score(r) as i32),
            date: Some(Ts(r.finished_at)),
        }))
    }

    /// The candidate's link, only while `lastStatus` is `pending`.
    async fn invitation_url(&self, ctx: &Context<'_>) -> Option<String> {
        (self.status == CertificationRequestStatus::Pending)
            .then(|| candidate_link(&engine(ctx).config.public_url, self.current()))
    }

    /// The request's ATS ids; empty when it has none.
    async fn integrations(&self) -> Option<Vec<Option<Integrations>>> {
        let i = &self.current().integrations;
        let any = i.greenhouse_candidate_id.is_some()
            || i.greenhouse_application_id.is_some()
            || i.lever_opportunity_id.is_some()
            || i.smart_recruiters_order_id.is_some();
        Some(if any { vec![Some(i.into())] } else { Vec::new() })
    }

    /// ms; null unless customised.
    async fn custom_duration(&self) -> Option<i32> {
        self.current().custom_duration.map(|d| d.as_millis() as i32)
    }

    /// Not in Certify: the Certified Evaluation invited to (`companyTest(id)`).
    async fn company_test_id(&self) -> ID {
        ID(self.current().test_id.to_string())
    }

    /// Not in Certify: the current session (`companyTestSession(id)`), the newest retake if any.
    async fn company_test_session_id(&self) -> ID {
        ID(self.current().id.to_string())
    }
}

#[Object]
impl CertifyQuery {
    /// A certification request by id, or a candidate's newest one for a test.
    #[graphql(
        complexity = "1 + child_complexity",
        deprecation = "Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use companyTestSession(id) with the request's companyTestSessionId, or companyTestSessions(companyTestId) / atsCompanyTestSessions(id, idType) to find a candidate's invitations"
    )]
    async fn certification_request(
        &self,
        ctx: &Context<'_>,
        request_fields: CertificationRequestInput,
    ) -> async_graphql::Result<Option<CertificationRequest>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        Ok(Some(find(ctx, caller.company(), request_fields).await?))
    }

    /// Requests whose current session expired, latest expiration first; the dates bound the
    /// expiration date (inclusive). This reads every expired invitation of the company.
    #[graphql(
        complexity = "list_cost(1, Some(first), 0, child_complexity)",
        deprecation = "Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use companyTestSessions(companyTestId) and keep the sessions whose status is expired"
    )]
    // The arguments are those of CodeSignal's removed query.
    #[allow(clippy::too_many_arguments)]
    async fn expired_certification_requests(
        &self,
        ctx: &Context<'_>,
        company_id: Option<ID>,
        standardized_test_id: Option<ID>,
        expiration_date_from: Option<Ts>,
        expiration_date_to: Option<Ts>,
        first: i32,
        offset: Option<i32>,
    ) -> async_graphql::Result<Option<CertificationRequests>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        own_company(ctx, company_id.as_ref())?;
        let page = page(first, offset)?;
        let (from, to) = (expiration_date_from.map(|t| t.0), expiration_date_to.map(|t| t.0));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(ApiError::invalid(
                "expirationDateTo",
                format!("{} is before expirationDateFrom {}", to.as_millis(), from.as_millis()),
                "a date at or after expirationDateFrom",
            )
            .into());
        }
        let engine = engine(ctx);
        let company = caller.company();
        let test = match &standardized_test_id {
            Some(id) => Some(resolve_test(engine, company, "standardizedTestId", id).await?),
            None => None,
        };
        let in_range = |t: Timestamp| from.is_none_or(|from| t >= from) && to.is_none_or(|to| t <= to);
        let filter = SessionFilter {
            test: test.as_ref().and_then(|t| t.test.as_ref()).map(|t| t.id.clone()),
            status: Some(SessionStatus::Expired),
            verification: None,
        };
        // Only what sorting needs is kept; the page's sessions are read again below.
        let mut expired: Vec<(Timestamp, SessionId)> = Vec::new();
        let mut offset = 0;
        loop {
            let batch = engine
                .store
                .company_sessions(company, &filter, Page { first: SCAN_PAGE, offset })
                .await
                .map_err(ApiError::from)?;
            let full = batch.len() == SCAN_PAGE as usize;
            expired.extend(
                batch
                    .into_iter()
                    .filter(|s| match &test {
                        Some(test) => test.admits(s),
                        None => s.framework_id.is_some(),
                    })
                    .filter(|s| in_range(s.expiration_date))
                    .map(|s| (s.expiration_date, s.id)),
            );
            if !full {
                break;
            }
            offset += SCAN_PAGE;
        }
        expired.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.as_str().cmp(a.1.as_str())));
        let total_count = expired.len() as i32;
        let (items, has_next_page) = paginate(expired, page);
        let mut requests = Vec::with_capacity(items.len());
        for (_, id) in items {
            let Some(session) = engine.store.session(company, &id).await.map_err(ApiError::from)? else { continue };
            match of_session(engine, company, session).await {
                Ok(request) => requests.push(request),
                // Revoked since the scan read it: no longer expired.
                Err(err) if err.code == Code::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Some(CertificationRequests {
            total_count,
            certification_requests: requests,
            page_info: PageInfo { has_next_page },
        }))
    }
}

#[Object]
impl CertifyMutation {
    /// Invites a candidate to a Certified Evaluation. A pending or started request for the same
    /// test and email is returned instead of a new one (Certify kept one per candidate and test).
    #[graphql(
        deprecation = "Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use createCompanyTestSession(sessionFields) with the testId of a Certified Evaluation (see createCompanyTestFromFramework) and preferExisting: true"
    )]
    async fn create_certification_request(
        &self,
        ctx: &Context<'_>,
        request_fields: CreateCertificationRequestInput,
    ) -> async_graphql::Result<Option<CertificationRequest>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        own_company(ctx, request_fields.company_id.as_ref())?;
        let engine = engine(ctx);
        let company = caller.company();
        let f = request_fields;
        let test = resolve_test(engine, company, "testId", &f.test_id).await?;
        let test = match test.test {
            Some(test) => test,
            None => only_evaluation(engine, company, &test.framework, &f.test_id).await?,
        };
        let (first_name, last_name) = split_name(&f.candidate_name);
        let input = InviteInput {
            test_id: test.id,
            candidate_first_name: first_name,
            candidate_last_name: last_name,
            candidate_email: f.candidate_email,
            external_id: f.external_id,
            expire_duration: f
                .certification_expire_duration
                .map(|v| millis("certificationExpireDuration", v))
                .transpose()?,
            custom_duration: f.custom_duration.map(|v| millis("customDuration", f64::from(v))).transpose()?,
            integrations: Default::default(),
            prefer_existing: true,
        };
        let outcome = engine.invite(company, input).await.map_err(|err| certify_field(err.into()))?;
        Ok(Some(of_session(engine, company, outcome.session).await?))
    }

    /// Deletes the request's current session; returns the request as it was. Afterwards
    /// lookups answer that it was revoked.
    #[graphql(
        deprecation = "Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use deleteCompanyTestSession(id) with the request's companyTestSessionId"
    )]
    async fn revoke_certification_request(
        &self,
        ctx: &Context<'_>,
        certification_request_input: CertificationRequestInput,
    ) -> async_graphql::Result<CertificationRequest> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let request = find(ctx, caller.company(), certification_request_input).await?;
        engine(ctx)
            .session_command(caller.company(), &request.current().id, SessionAction::Delete)
            .await
            .map_err(ApiError::from)?;
        Ok(request)
    }
}

/// The request a lookup names, in one of the three modes.
async fn find(
    ctx: &Context<'_>,
    company: &CompanyId,
    input: CertificationRequestInput,
) -> Result<CertificationRequest, ApiError> {
    own_company(ctx, input.company_id.as_ref())?;
    let engine = engine(ctx);
    match (input.request_id, input.candidate_email, input.test_id) {
        (Some(id), None, None) => by_id(engine, company, &id).await,
        (None, Some(email), Some(test)) => by_candidate(engine, company, &email, &test).await,
        (Some(_), _, _) => {
            Err(ApiError::invalid("requestId", "cannot be combined with candidateEmail or testId", LOOKUP_MODES))
        }
        (None, Some(_), None) => Err(ApiError::invalid("testId", "is required with candidateEmail", LOOKUP_MODES)),
        (None, None, Some(_)) => Err(ApiError::invalid("candidateEmail", "is required with testId", LOOKUP_MODES)),
        (None, None, None) => Err(ApiError::invalid("requestId", "no lookup was given", LOOKUP_MODES)),
    }
}

async fn by_id(engine: &Engine, company: &CompanyId, id: &ID) -> Result<CertificationRequest, ApiError> {
    // A Certify id of an imported request first: Certify-era clients stored those.
    let imported = match CertificationRequestId::parse(id.as_str()) {
        Ok(old) => engine.store.certify_request(company, &old).await?,
        Err(_) => None,
    };
    let session_id = match imported {
        Some(session_id) => session_id,
        None => parse_id("requestId", id, SessionId::parse)?,
    };
    let session = engine
        .store
        .session(company, &session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("certification request", id.as_str()))?;
    rooted_at(engine, company, session_id, session).await
}

/// The candidate's newest request (not a retake, not revoked) for the test.
async fn by_candidate(
    engine: &Engine,
    company: &CompanyId,
    email: &str,
    test_id: &ID,
) -> Result<CertificationRequest, ApiError> {
    let email = validate::email(email)?;
    let test = resolve_test(engine, company, "testId", test_id).await?;
    let mut invitations = engine.store.sessions_of_candidate(&email, &test.framework).await?;
    invitations.retain(|s| &s.company_id == company && s.retake_of.is_none() && test.admits(s));
    invitations.sort_by(|a, b| b.create_date.cmp(&a.create_date).then_with(|| b.id.as_str().cmp(a.id.as_str())));
    for invitation in invitations {
        match rooted_at(engine, company, invitation.id.clone(), invitation).await {
            // Revoked: an older request may still stand.
            Err(err) if err.code == Code::NotFound => continue,
            found => return found,
        }
    }
    Err(ApiError::new(
        Code::NotFound,
        format!("no certification request of {email} for test {} was found", test_id.as_str()),
    ))
}

/// The request a session belongs to: the one the legacy bridge reports it under.
async fn of_session(
    engine: &Engine,
    company: &CompanyId,
    session: CompanyTestSession,
) -> Result<CertificationRequest, ApiError> {
    if let Some(previous) = &session.retake_of
        && let Some(root) = engine.store.session(company, previous).await?
    {
        return rooted_at(engine, company, root.id.clone(), root).await;
    }
    rooted_at(engine, company, session.id.clone(), session).await
}

/// `root` and its retakes, as the request `id`.
async fn rooted_at(
    engine: &Engine,
    company: &CompanyId,
    id: SessionId,
    root: CompanyTestSession,
) -> Result<CertificationRequest, ApiError> {
    let mut sessions = vec![root];
    while let Some(next) = sessions.last().and_then(|s| s.retake_session.clone()) {
        if sessions.len() == MAX_CHAIN {
            tracing::error!(request = %id, "a retake chain is longer than {MAX_CHAIN} sessions");
            return Err(ApiError::internal());
        }
        match engine.store.session(company, &next).await? {
            Some(retake) => sessions.push(retake),
            None => break,
        }
    }
    let current = sessions.last().expect("the root is there");
    let Some(framework) = current.framework_id.clone() else {
        return Err(ApiError::new(
            Code::NotFound,
            format!(
                "certification request {id} was not found: it is an invitation to a custom Pre-Screen, which Certify \
                 never had; read it with companyTestSession(id)"
            ),
        ));
    };
    let id = sessions[0].certify_request_id.as_ref().map_or_else(|| id.to_string(), |old| old.to_string());
    match status_of(current) {
        Some(status) => Ok(CertificationRequest { id, framework, status, sessions }),
        None => Err(ApiError::new(Code::NotFound, format!("certification request {id} was revoked"))),
    }
}

/// `lastStatus` of a request whose current session is `s`; `None` once revoked (deleted).
fn status_of(s: &CompanyTestSession) -> Option<CertificationRequestStatus> {
    Some(match s.status {
        SessionStatus::Pending => CertificationRequestStatus::Pending,
        SessionStatus::Active => CertificationRequestStatus::TestStarted,
        SessionStatus::Expired => CertificationRequestStatus::Expired,
        SessionStatus::Declined => CertificationRequestStatus::Rejected,
        SessionStatus::Deleted => return None,
        // Taken; the grader's result is still to come.
        SessionStatus::Finalizing => CertificationRequestStatus::TestTaken,
        SessionStatus::Over | SessionStatus::Archived if shared(s) => CertificationRequestStatus::Shared,
        SessionStatus::Over | SessionStatus::Archived => CertificationRequestStatus::TestTaken,
    })
}

/// Whether the session's result reached the company as Certify's `certificationResultShared`:
/// verified (re-shares of proctored tests count as verified), or unproctored and finished.
fn shared(s: &CompanyTestSession) -> bool {
    matches!(s.status, SessionStatus::Over | SessionStatus::Archived)
        && s.result.is_some()
        && matches!(s.verification_status, None | Some(VerificationStatus::Verified))
}

/// A Certify test id: a framework, or one Certified Evaluation of the company.
struct TestRef {
    framework: FrameworkId,
    test: Option<CompanyTest>,
}

impl TestRef {
    fn admits(&self, s: &CompanyTestSession) -> bool {
        s.framework_id.as_ref() == Some(&self.framework) && self.test.as_ref().is_none_or(|t| t.id == s.test_id)
    }
}

async fn resolve_test(engine: &Engine, company: &CompanyId, field: &str, id: &ID) -> Result<TestRef, ApiError> {
    if let Some(framework) = catalogue().iter().find(|f| f.id == id.as_str()) {
        return Ok(TestRef { framework: framework.framework_id(), test: None });
    }
    let test_id = parse_id(field, id, TestId::parse)?;
    match engine.store.test(company, &test_id).await? {
        Some(test) => match test.framework_id.clone() {
            Some(framework) => Ok(TestRef { framework, test: Some(test) }),
            None => Err(ApiError::invalid(
                field,
                format!("{} is a custom Pre-Screen, not a certification test", id.as_str()),
                TEST_IDS,
            )),
        },
        None => Err(ApiError::not_found("test", id.as_str())),
    }
}

/// The company's one active Certified Evaluation of `framework`, for a request made by
/// framework id.
async fn only_evaluation(
    engine: &Engine,
    company: &CompanyId,
    framework: &FrameworkId,
    test_id: &ID,
) -> Result<CompanyTest, ApiError> {
    let test_id = test_id.as_str();
    let mut tests = engine.store.tests(company).await?;
    tests.retain(|t| t.framework_id.as_ref() == Some(framework) && t.status == TestStatus::Active);
    match tests.len() {
        1 => Ok(tests.remove(0)),
        0 => Err(ApiError::invalid(
            "testId",
            format!("no active Certified Evaluation is built on {test_id}"),
            format!("create one with createCompanyTestFromFramework(frameworkId: \"{test_id}\"), or pass {TEST_IDS}"),
        )),
        n => {
            let ids: Vec<&str> = tests.iter().map(|t| t.id.as_str()).collect();
            Err(ApiError::invalid(
                "testId",
                format!("{n} active Certified Evaluations are built on {test_id}"),
                format!("the id of one of them: {}", ids.join(", ")),
            ))
        }
    }
}

/// `candidateName` as first name and the rest, which `Candidate::full_name` joins back.
fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_owned(), rest.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// Names an invitation error by the Certify input field it came from.
fn certify_field(mut err: ApiError) -> ApiError {
    let renamed = match err.field.as_deref() {
        Some("candidateFirstName" | "candidateLastName") => "candidateName",
        Some("expireDuration") => "certificationExpireDuration",
        _ => return err,
    };
    if let Some(old) = err.field.replace(renamed.to_owned())
        && let Some(problem) = err.message.strip_prefix(&format!("{old}:"))
    {
        err.message = format!("{renamed}:{problem}");
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_names_split_at_the_first_space() {
        assert_eq!(split_name(" Jane  Doe "), ("Jane".to_owned(), "Doe".to_owned()));
        assert_eq!(split_name("Mary Ann Smith"), ("Mary".to_owned(), "Ann Smith".to_owned()));
        assert_eq!(split_name("Cher"), ("Cher".to_owned(), String::new()));
    }

    #[test]
    fn invitation_errors_name_the_certify_field() {
        let err = certify_field(ApiError::invalid("expireDuration", "1000 ms is out of range", "1 day to 6 months"));
        assert_eq!(err.field.as_deref(), Some("certificationExpireDuration"));
        assert_eq!(err.message, "certificationExpireDuration: 1000 ms is out of range");
        let err = certify_field(ApiError::invalid("candidateEmail", "must not be empty", "an address"));
        assert_eq!(err.field.as_deref(), Some("candidateEmail"));
    }
}
