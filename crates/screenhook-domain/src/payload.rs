//! Webhook payloads, field by field as CodeSignal's Webhook API lists them, as strict JSON.
//!
//! Rules encoded here, each one that is easy to get wrong:
//! - Every test-session event starts with the common block (`testSessionId`, `testId`,
//!   `testTitle`, `candidateEmail`, `candidateName`, `externalId` — the last omitted when absent).
//!   Assessment events have no common block; Certify events are keyed by `certificationRequestId`.
//! - `maxScore` is nullable only on `preScreenResultShared` and
//!   `preScreenResultVerificationPending`; we send `null` there when the max is unknown (stored
//!   as 0, e.g. a migrated result). Elsewhere it is always a number.
//! - `preScreenResultVerificationPending` has no `url` and no plagiarism fields.
//! - Deprecated fields are still sent where listed: `codingScore` (original scale, `null` when
//!   unknown), `plagiarismLevel` and `plagiarismLabel`: the grader's verdict (level 0–3 for
//!   none–high), or `0` and `"-"` when no check ran (every candidate-submitted result).
//! - `versionedCodingScore {version: "codingScore2023", value}` is omitted for custom tests
//!   with a raw scoring model, which have no Assessment Score.
//! - Timestamps and durations are milliseconds.

use serde_json::{Map, Value, json};

use crate::{
    ids::{InterviewerId, SessionId},
    model::{CompanyTest, CompanyTestSession, LiveInterview, TestResult, VerificationStatus},
};

/// The report link of a result: `{public_url}/test-result/{sessionId}?accessToken={token}`,
/// where the session is the one whose attempt produced the result.
pub fn report_url(public_url: &str, result: &TestResult) -> String {
    format!(
        "{}/test-result/{}?accessToken={}",
        public_url.trim_end_matches('/'),
        result.source_session_id,
        result.report_access_token
    )
}

/// The dashboard link of a finished live interview.
pub fn interview_url(public_url: &str, interview: &LiveInterview) -> String {
    format!(
        "{}/client-dashboard/interviews?status=over&liveInterviewId={}",
        public_url.trim_end_matches('/'),
        interview.id
    )
}

/// `assessmentCreated` / `assessmentUpdated`.
pub fn assessment(test: &CompanyTest) -> Value {
    json!({
        "assessmentId": test.id,
        "assessmentTitle": test.title,
        "assessmentStatus": test.status.as_str(),
    })
}

/// The common test-session block every test-session event starts with.
pub fn common(session: &CompanyTestSession) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("testSessionId".into(), json!(session.id));
    m.insert("testId".into(), json!(session.test_id));
    m.insert("testTitle".into(), json!(session.test_title));
    m.insert("candidateEmail".into(), json!(session.candidate.email));
    m.insert("candidateName".into(), json!(session.candidate.full_name()));
    if let Some(external_id) = &session.external_id {
        m.insert("externalId".into(), json!(external_id));
    }
    m
}

/// `companyTestSessionCreated`, `companyTestSessionStarted`, `preScreenCandidateDeclined`:
/// the common block alone.
pub fn session_only(session: &CompanyTestSession) -> Value {
    Value::Object(common(session))
}

fn score_fields(m: &mut Map<String, Value>, result: &TestResult, nullable_max: bool) {
    m.insert("duration".into(), json!(result.duration.as_millis()));
    m.insert("score".into(), json!(result.score));
    let max = if nullable_max && result.max_score == 0 { Value::Null } else { json!(result.max_score) };
    m.insert("maxScore".into(), max);
    m.insert("codingScore".into(), json!(result.legacy_coding_score));
    if let Some(value) = result.coding_score_2023 {
        m.insert("versionedCodingScore".into(), json!({"version": "codingScore2023", "value": value}));
    }
}

fn plagiarism_and_url(m: &mut Map<String, Value>, result: &TestResult, public_url: &str) {
    let (level, label) = result.plagiarism.map_or((0, "-"), |p| (p.level(), p.as_str()));
    m.insert("plagiarismLevel".into(), json!(level));
    m.insert("plagiarismLabel".into(), json!(label));
    m.insert("url".into(), json!(report_url(public_url, result)));
}

/// `companyTestSessionFinished` and `preScreenResultVerified` (same fields).
pub fn finished(session: &CompanyTestSession, result: &TestResult, public_url: &str) -> Value {
    let mut m = common(session);
    score_fields(&mut m, result, false);
    plagiarism_and_url(&mut m, result, public_url);
    Value::Object(m)
}

/// `preScreenResultShared`: like finished, but `maxScore` is nullable.
pub fn result_shared(session: &CompanyTestSession, result: &TestResult, public_url: &str) -> Value {
    let mut m = common(session);
    score_fields(&mut m, result, true);
    plagiarism_and_url(&mut m, result, public_url);
    Value::Object(m)
}

/// `preScreenResultVerificationPending`: score fields, nullable `maxScore`, no url, no plagiarism.
pub fn verification_pending(session: &CompanyTestSession, result: &TestResult) -> Value {
    let mut m = common(session);
    score_fields(&mut m, result, true);
    Value::Object(m)
}

/// `preScreenIntegrityReviewUpdated {integrityReviewSuggested}`.
pub fn integrity_review_updated(session: &CompanyTestSession, suggested: bool) -> Value {
    let mut m = common(session);
    m.insert("integrityReviewSuggested".into(), json!(suggested));
    Value::Object(m)
}

fn reason_names(session: &CompanyTestSession) -> Vec<&str> {
    session.verification_rejection_reasons.iter().map(|r| r.name.as_str()).collect()
}

/// `preScreenResultNotVerified {rejectedReasons?}` (omitted when no reason was given).
pub fn not_verified(session: &CompanyTestSession) -> Value {
    let mut m = common(session);
    if !session.verification_rejection_reasons.is_empty() {
        m.insert("rejectedReasons".into(), json!(reason_names(session)));
    }
    Value::Object(m)
}

/// `"notCertified"` for a rejected proctored result, else `"testNotTaken"`.
pub fn expired_reason(session: &CompanyTestSession) -> &'static str {
    if session.verification_status == Some(VerificationStatus::NotVerified) { "notCertified" } else { "testNotTaken" }
}

fn expiry_fields(m: &mut Map<String, Value>, session: &CompanyTestSession) {
    let reason = expired_reason(session);
    m.insert("expiredReason".into(), json!(reason));
    if reason == "notCertified" {
        m.insert("rejectedReasons".into(), json!(reason_names(session)));
    }
}

/// `preScreenExpired {expiredReason, rejectedReasons?}` (reasons present iff notCertified).
pub fn expired(session: &CompanyTestSession) -> Value {
    let mut m = common(session);
    expiry_fields(&mut m, session);
    Value::Object(m)
}

/// `liveInterviewFinished`. Only called on a finished interview; a missing date is sent as 0.
pub fn live_interview_finished(interview: &LiveInterview, public_url: &str) -> Value {
    json!({
        "interviewId": interview.id,
        "candidateName": interview.candidate.full_name(),
        "candidateEmail": interview.candidate.email,
        "startDate": interview.start_date.map_or(0, |t| t.as_millis()),
        "endDate": interview.end_date.map_or(0, |t| t.as_millis()),
        "questionsSolved": interview.questions_solved,
        "questionsAttempted": interview.questions_attempted,
        "url": interview_url(public_url, interview),
    })
}

/// `liveInterviewFeedbackUpdated {interviewId, interviewerId, feedback}`.
pub fn live_interview_feedback_updated(interview: &LiveInterview, interviewer_id: &InterviewerId) -> Value {
    json!({
        "interviewId": interview.id,
        "interviewerId": interviewer_id,
        "feedback": interview.feedback.clone().unwrap_or_else(|| json!({"generalNotes": ""})),
    })
}

// ---------------------------------------------------------------------------------------------
// Legacy Certify payloads (the events CodeSignal removed in 2025)

fn certify_common(request_id: &str, session: &CompanyTestSession) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("certificationRequestId".into(), json!(request_id));
    m.insert("testId".into(), json!(session.test_id));
    m.insert("testTitle".into(), json!(session.test_title));
    m.insert("candidateEmail".into(), json!(session.candidate.email));
    m.insert("candidateName".into(), json!(session.candidate.full_name()));
    m
}

/// Certify's `codingScore` (a plain number): the original-scale score when known, else the
/// Assessment Score, else 0.
pub fn certify_coding_score(result: &TestResult) -> u32 {
    result.legacy_coding_score.or(result.coding_score_2023).unwrap_or(0)
}

/// `certificationResultPending`.
pub fn certification_result_pending(request_id: &str, session: &CompanyTestSession, result: &TestResult) -> Value {
    let mut m = certify_common(request_id, session);
    m.insert("testSessionId".into(), json!(session.id));
    m.insert("duration".into(), json!(result.duration.as_millis()));
    m.insert("score".into(), json!(result.score));
    m.insert("maxScore".into(), json!(result.max_score));
    m.insert("codingScore".into(), json!(certify_coding_score(result)));
    Value::Object(m)
}

/// `certificationResultNotCertified` (no `testSessionId`).
pub fn certification_result_not_certified(request_id: &str, session: &CompanyTestSession) -> Value {
    let mut m = certify_common(request_id, session);
    m.insert("rejectedReasons".into(), json!(reason_names(session)));
    Value::Object(m)
}

/// One entry of `sharedTestSessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTestSession {
    pub id: SessionId,
    pub coding_score: u32,
    pub score: u32,
    pub max_score: u32,
    pub start_date: i64,
    pub finish_date: i64,
    pub duration: i64,
    pub url: String,
}

impl SharedTestSession {
    /// The entry for a result, with the given report link.
    pub fn from_result(result: &TestResult, url: String) -> Self {
        SharedTestSession {
            id: result.source_session_id.clone(),
            coding_score: certify_coding_score(result),
            score: result.score,
            max_score: result.max_score,
            start_date: result.started_at.as_millis(),
            finish_date: result.finished_at.as_millis(),
            duration: result.duration.as_millis(),
            url,
        }
    }
}

/// `certificationResultShared {sharedTestSessions}`, sorted by `codingScore`, highest first.
pub fn certification_result_shared(
    request_id: &str,
    session: &CompanyTestSession,
    shared: &[SharedTestSession],
) -> Value {
    let mut sorted = shared.to_vec();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.coding_score));
    let entries: Vec<Value> = sorted
        .iter()
        .map(|s| {
            json!({
                "codingScore": s.coding_score,
                "score": s.score,
                "maxScore": s.max_score,
                "startDate": s.start_date,
                "finishDate": s.finish_date,
                "duration": s.duration,
                "id": s.id,
                "url": s.url,
            })
        })
        .collect();
    let mut m = certify_common(request_id, session);
    m.insert("sharedTestSessions".into(), Value::Array(entries));
    Value::Object(m)
}

/// `certificationRequestExpired {expiredReason, rejectedReasons?}` (no `testSessionId`).
pub fn certification_request_expired(request_id: &str, session: &CompanyTestSession) -> Value {
    let mut m = certify_common(request_id, session);
    expiry_fields(&mut m, session);
    Value::Object(m)
}

/// `certificationRequestRejected`: the candidate declined.
pub fn certification_request_rejected(request_id: &str, session: &CompanyTestSession) -> Value {
    Value::Object(certify_common(request_id, session))
}

/// `certificationRequestsMerged {deletedRequestId, mergedRequestId}`.
pub fn certification_requests_merged(deleted: &SessionId, merged: &SessionId) -> Value {
    json!({"deletedRequestId": deleted, "mergedRequestId": merged})
}
