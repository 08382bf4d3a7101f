//! Object types, enums and scalars of CodeSignal's GraphQL API, over the domain aggregates.

use async_graphql::{
    Context, Description, Enum, ID, InputValueError, InputValueResult, Interface, Object, Scalar, ScalarType,
    SimpleObject, Value,
};
use screenhook_domain::{
    CompanyTest, CompanyTestSession, Framework, Permission, SessionStatus, TestResult, Timestamp, framework,
    framework::{ScoringModel as DomainScoringModel, ScoringModelType as DomainScoringModelType},
    payload::report_url,
};

use super::{allowed, caller, engine, list_cost, page};

/// Milliseconds since the Unix epoch, as a number (Float-compatible; whole numbers only).
#[derive(Description, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts(pub Timestamp);

#[Scalar(name = "Timestamp", use_type_description)]
impl ScalarType for Ts {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::Number(n) = &value else { return Err(InputValueError::expected_type(value)) };
        let ms = match n.as_i64() {
            Some(ms) => ms,
            None => match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
                _ => {
                    return Err(InputValueError::custom(
                        "a Timestamp is a whole number of milliseconds since the epoch",
                    ));
                }
            },
        };
        Ok(Ts(Timestamp::from_millis(ms)))
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.as_millis().into())
    }
}

fn ts(t: Timestamp) -> Ts {
    Ts(t)
}

/// The candidate's link of a session: `{public_url}/c/{token}`.
pub(crate) fn candidate_link(public_url: &str, session: &CompanyTestSession) -> String {
    format!("{}/c/{}", public_url.trim_end_matches('/'), session.candidate_token)
}

/// `TestSessionStatus`, CodeSignal's values. `finalizing` is an ended attempt awaiting the
/// grader's result; `gracePeriod` and `deletedForPii` are part of the contract but never
/// reached here.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum TestSessionStatus {
    Pending,
    Active,
    GracePeriod,
    Finalizing,
    Over,
    Deleted,
    DeletedForPii,
    Expired,
    Declined,
    Archived,
}

impl From<SessionStatus> for TestSessionStatus {
    fn from(s: SessionStatus) -> Self {
        match s {
            SessionStatus::Pending => TestSessionStatus::Pending,
            SessionStatus::Active => TestSessionStatus::Active,
            SessionStatus::Finalizing => TestSessionStatus::Finalizing,
            SessionStatus::Over => TestSessionStatus::Over,
            SessionStatus::Expired => TestSessionStatus::Expired,
            SessionStatus::Declined => TestSessionStatus::Declined,
            SessionStatus::Deleted => TestSessionStatus::Deleted,
            SessionStatus::Archived => TestSessionStatus::Archived,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum VerificationStatus {
    Pending,
    Verified,
    NotVerified,
}

impl From<screenhook_domain::VerificationStatus> for VerificationStatus {
    fn from(v: screenhook_domain::VerificationStatus) -> Self {
        match v {
            screenhook_domain::VerificationStatus::Pending => VerificationStatus::Pending,
            screenhook_domain::VerificationStatus::Verified => VerificationStatus::Verified,
            screenhook_domain::VerificationStatus::NotVerified => VerificationStatus::NotVerified,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum CodingScoreVersion {
    #[graphql(deprecation = "the original 300–850 scale; use codingScore2023")]
    Original,
    CodingScore2023,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum AtsIdType {
    GreenhouseApplicationId,
    GreenhouseCandidateId,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum ScoringModelType {
    Raw,
    CodingScore2023,
    /// Part of the contract; no framework here uses it.
    Behavioral,
}

#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ScoreRange {
    pub min: i32,
    pub max: i32,
}

/// `CodingScore2023ScoringModel`: the standardized Assessment Score range.
#[derive(Debug, Clone, Copy)]
pub struct CodingScore2023ScoringModel {
    pub score_range: Option<ScoreRange>,
}

#[Object]
impl CodingScore2023ScoringModel {
    #[graphql(name = "type")]
    async fn kind(&self) -> ScoringModelType {
        ScoringModelType::CodingScore2023
    }

    async fn score_range(&self) -> Option<ScoreRange> {
        self.score_range
    }
}

/// `RawScoringModel`: the score is the sum of task scores. Custom Pre-Screens carry no
/// maximum until a result arrives, so their range is null.
#[derive(Debug, Clone, Copy)]
pub struct RawScoringModel {
    pub score_range: Option<ScoreRange>,
}

#[Object]
impl RawScoringModel {
    #[graphql(name = "type")]
    async fn kind(&self) -> ScoringModelType {
        ScoringModelType::Raw
    }

    async fn score_range(&self) -> Option<ScoreRange> {
        self.score_range
    }
}

/// `ScoringModel` interface. `scoreRange` is on the interface too, so
/// `scoringModel { type scoreRange { min max } }` works without fragments.
#[derive(Interface)]
#[graphql(
    field(name = "type", ty = "ScoringModelType", method = "kind"),
    field(name = "score_range", ty = "Option<ScoreRange>")
)]
pub enum ScoringModel {
    CodingScore2023(CodingScore2023ScoringModel),
    Raw(RawScoringModel),
}

impl From<DomainScoringModel> for ScoringModel {
    fn from(m: DomainScoringModel) -> Self {
        let range = Some(ScoreRange { min: m.score_range.min as i32, max: m.score_range.max as i32 });
        match m.kind {
            DomainScoringModelType::CodingScore2023 => {
                ScoringModel::CodingScore2023(CodingScore2023ScoringModel { score_range: range })
            }
            DomainScoringModelType::Raw => ScoringModel::Raw(RawScoringModel { score_range: range }),
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SkillSet {
    pub id: ID,
    pub name: String,
    /// Always null: the catalogue ships no images.
    pub image_url: Option<String>,
}

/// A Skills Evaluation Framework (a Certified Evaluation's content).
pub struct FrameworkObj(pub &'static Framework);

#[Object(name = "Framework")]
impl FrameworkObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_owned())
    }

    async fn title(&self) -> &str {
        self.0.title
    }

    /// 'behavioral' for behavioral frameworks; null for every framework here.
    async fn format(&self) -> Option<String> {
        None
    }

    /// Milliseconds.
    async fn duration(&self) -> f64 {
        self.0.duration.as_millis() as f64
    }

    /// The framework's skill areas.
    async fn skill_sets(&self) -> Vec<SkillSet> {
        self.0
            .skill_areas
            .iter()
            .map(|a| SkillSet { id: ID(slug(a.name)), name: a.name.to_owned(), image_url: None })
            .collect()
    }

    async fn scoring_model(&self) -> ScoringModel {
        self.0.scoring_model.into()
    }
}

fn slug(name: &str) -> String {
    name.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `Company`.
pub struct CompanyObj(pub screenhook_domain::Company);

#[Object(name = "Company")]
impl CompanyObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is a sandbox company (its clock may run ahead of real time).
    async fn sandbox(&self) -> bool {
        self.0.sandbox
    }
}

/// A Pre-Screen.
pub struct CompanyTestObj(pub CompanyTest);

#[Object(name = "CompanyTest")]
impl CompanyTestObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn external_title(&self) -> &str {
        &self.0.external_title
    }

    async fn internal_description(&self) -> Option<&str> {
        self.0.internal_description.as_deref()
    }

    /// Time a candidate has once started, in ms.
    async fn duration(&self) -> f64 {
        self.0.duration.as_millis() as f64
    }

    /// The certified assessment behind the test, if any.
    async fn framework(&self) -> Option<FrameworkObj> {
        self.0.framework_id.as_ref().and_then(framework).map(FrameworkObj)
    }

    async fn labels(&self) -> &[String] {
        &self.0.labels
    }

    async fn create_date(&self) -> Ts {
        ts(self.0.create_date)
    }

    /// Maximum age (ms) of a result that can be re-shared; Certified Evaluations only; null = no limit.
    async fn result_date_limit(&self) -> Option<f64> {
        self.0.result_date_limit.map(|m| m.as_millis() as f64)
    }

    /// Framework tests: the Assessment Score model; custom tests: a raw model.
    async fn scoring_model(&self) -> ScoringModel {
        match self.0.framework_id.as_ref().and_then(framework) {
            Some(fw) => fw.scoring_model.into(),
            None => ScoringModel::Raw(RawScoringModel { score_range: None }),
        }
    }

    /// Not in CodeSignal's API: whether candidates are proctored.
    async fn proctored(&self) -> bool {
        self.0.proctored
    }

    /// Not in CodeSignal's API: the default invitation window (ms).
    async fn default_expiration(&self) -> f64 {
        self.0.default_expiration.as_millis() as f64
    }

    /// Not in CodeSignal's API: `active`, `archived` or `deleted` (`assessmentStatus` in webhooks).
    async fn status(&self) -> &'static str {
        self.0.status.as_str()
    }

    /// One invitation to this test. Needs the `sessions` permission.
    async fn test_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<CompanyTestSessionObj> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let sid = super::parse_id("id", &id, screenhook_domain::SessionId::parse)?;
        match engine(ctx).store.session(caller.company(), &sid).await.map_err(crate::ApiError::from)? {
            Some(s) if s.test_id == self.0.id => Ok(CompanyTestSessionObj(s)),
            _ => Err(crate::ApiError::not_found("test session", id.as_str()).into()),
        }
    }

    /// Invitations to this test, newest finish first. Needs the `sessions` permission.
    #[graphql(complexity = "list_cost(2, first, super::sessions::DEFAULT_SESSIONS, child_complexity)")]
    async fn test_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<CompanyTestSessionObj>>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let page = page(first.unwrap_or(super::sessions::DEFAULT_SESSIONS), offset)?;
        let sessions = engine(ctx)
            .store
            .sessions_of_test(caller.company(), &self.0.id, page)
            .await
            .map_err(crate::ApiError::from)?;
        Ok(sessions.into_iter().map(|s| Some(CompanyTestSessionObj(s))).collect())
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct TestTaker {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct Integrations {
    pub greenhouse_candidate_id: Option<String>,
    pub greenhouse_application_id: Option<String>,
    pub lever_opportunity_id: Option<String>,
    pub smart_recruiters_order_id: Option<String>,
}

impl From<&screenhook_domain::Integrations> for Integrations {
    fn from(i: &screenhook_domain::Integrations) -> Self {
        Integrations {
            greenhouse_candidate_id: i.greenhouse_candidate_id.clone(),
            greenhouse_application_id: i.greenhouse_application_id.clone(),
            lever_opportunity_id: i.lever_opportunity_id.clone(),
            smart_recruiters_order_id: i.smart_recruiters_order_id.clone(),
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct VerificationRejectionReason {
    pub name: String,
    pub description: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ReactivatedSession {
    pub new_session_id: ID,
    pub reactivation_date: Ts,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SkillArea {
    pub name: String,
    /// `expert`, `advanced`, `intermediate` or `beginner` (directional only).
    pub label: String,
    pub questions: i32,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct VersionedCodingScore {
    pub version: CodingScoreVersion,
    pub value: Option<i32>,
    pub skill_areas: Vec<SkillArea>,
}

/// `CompanyTestSessionResult`.
pub struct ResultObj {
    result: TestResult,
    url: String,
}

#[Object(name = "CompanyTestSessionResult")]
impl ResultObj {
    /// Raw score (sum of task scores).
    async fn score(&self) -> Option<i32> {
        Some(self.result.score as i32)
    }

    /// The report link.
    async fn url(&self) -> &str {
        &self.url
    }

    /// V1 in range 300 to 850.
    #[graphql(deprecation = "original-scale score; use versionedCodingScore")]
    async fn coding_score(&self) -> Option<i32> {
        self.result.legacy_coding_score.map(|s| s as i32)
    }

    /// The Assessment Score (200–600, 0 when nothing was submitted); null for custom tests.
    async fn versioned_coding_score(&self) -> Option<VersionedCodingScore> {
        self.result.coding_score_2023.map(|value| VersionedCodingScore {
            version: CodingScoreVersion::CodingScore2023,
            value: Some(value as i32),
            skill_areas: self
                .result
                .skill_areas
                .iter()
                .map(|a| SkillArea {
                    name: a.name.clone(),
                    label: serde_json::to_value(a.label)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    questions: a.questions as i32,
                })
                .collect(),
        })
    }

    /// Not on this type in CodeSignal's API (it is on task results): time spent, in ms.
    async fn duration(&self) -> f64 {
        self.result.duration.as_millis() as f64
    }
}

/// An invitation to a Pre-Screen.
pub struct CompanyTestSessionObj(pub CompanyTestSession);

#[Object(name = "CompanyTestSession")]
impl CompanyTestSessionObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The Pre-Screen invited to.
    async fn test(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CompanyTestObj>> {
        let caller = caller(ctx)?;
        let test = engine(ctx).store.test(caller.company(), &self.0.test_id).await.map_err(crate::ApiError::from)?;
        Ok(test.map(CompanyTestObj))
    }

    async fn status(&self) -> TestSessionStatus {
        self.0.status.into()
    }

    async fn test_taker(&self) -> TestTaker {
        let c = &self.0.candidate;
        TestTaker { email: c.email.clone(), first_name: c.first_name.clone(), last_name: c.last_name.clone() }
    }

    /// The result's maximum; before a result, the framework's (0 for custom tests).
    async fn max_score(&self) -> i32 {
        let from_framework = self.0.framework_id.as_ref().and_then(framework).map(|f| f.max_raw_score);
        self.0.result.as_ref().map(|r| r.max_score).or(from_framework).unwrap_or(0) as i32
    }

    async fn create_date(&self) -> Ts {
        ts(self.0.create_date)
    }

    async fn start_date(&self) -> Option<Ts> {
        self.0.start_date.map(ts)
    }

    async fn finish_date(&self) -> Option<Ts> {
        self.0.finish_date.map(ts)
    }

    async fn expiration_date(&self) -> Ts {
        ts(self.0.expiration_date)
    }

    /// Needs the `results` permission.
    async fn result(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ResultObj>> {
        allowed(ctx, Permission::Results)?;
        let public_url = &engine(ctx).config.public_url;
        Ok(self.0.result.clone().map(|result| ResultObj { url: report_url(public_url, &result), result }))
    }

    /// The candidate's link; only while the invitation is pending.
    async fn invitation_url(&self, ctx: &Context<'_>) -> Option<String> {
        (self.0.status == SessionStatus::Pending).then(|| candidate_link(&engine(ctx).config.public_url, &self.0))
    }

    async fn integrations(&self) -> Integrations {
        (&self.0.integrations).into()
    }

    /// Echoed in every session webhook.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// ms; null unless customised.
    async fn custom_duration(&self) -> Option<f64> {
        self.0.custom_duration.map(|m| m.as_millis() as f64)
    }

    async fn reactivated_session(&self) -> Option<ReactivatedSession> {
        self.0.reactivated_session.as_ref().map(|r| ReactivatedSession {
            new_session_id: ID(r.new_session_id.to_string()),
            reactivation_date: ts(r.reactivation_date),
        })
    }

    /// Proctored sessions once submitted.
    async fn verification_status(&self) -> Option<VerificationStatus> {
        self.0.verification_status.map(Into::into)
    }

    /// Set when notVerified; null otherwise.
    async fn verification_rejection_reasons(&self) -> Option<Vec<VerificationRejectionReason>> {
        (self.0.verification_status == Some(screenhook_domain::VerificationStatus::NotVerified)).then(|| {
            self.0
                .verification_rejection_reasons
                .iter()
                .map(|r| VerificationRejectionReason { name: r.name.clone(), description: r.description.clone() })
                .collect()
        })
    }

    async fn integrity_review_finalized(&self) -> bool {
        self.0.integrity.finalized
    }

    /// Non-proctored sessions, once the analysis succeeded.
    async fn integrity_review_suggested(&self) -> Option<bool> {
        self.0.integrity.suggested
    }

    /// The new session after a retake was issued.
    async fn retake_session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let Some(id) = &self.0.retake_session else { return Ok(None) };
        let caller = caller(ctx)?;
        let session = engine(ctx).store.session(caller.company(), id).await.map_err(crate::ApiError::from)?;
        Ok(session.map(CompanyTestSessionObj))
    }

    /// Accepted by createCompanyTestSession but not kept: always null.
    async fn post_session_redirect_url(&self) -> Option<String> {
        None
    }
}
