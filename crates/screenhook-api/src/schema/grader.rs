//! Results from a trusted source (not in CodeSignal's API, where CodeSignal scores its own
//! tests): `recordCompanyTestSessionResult`, for the assessment engine. It needs the `grader`
//! permission, which `admin` does not imply, so a company's own integration cannot score its
//! candidates. Outside sandboxes a candidate only ends the attempt (`finalizing`); this
//! mutation records the result and fires `companyTestSessionFinished` (or
//! `preScreenResultVerificationPending` when proctored).

use async_graphql::{Context, Enum, ID, InputObject, Object};
use screenhook_domain::Permission;
use screenhook_engine::SessionAction;

use super::{sessions::session_action, types::CompanyTestSessionObj};
use crate::error::ApiError;

#[derive(Default)]
pub struct GraderMutation;

/// `PlagiarismLabel`: how much of a solution matches other sources.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum PlagiarismLabel {
    None,
    Low,
    Medium,
    High,
}

impl From<PlagiarismLabel> for screenhook_domain::PlagiarismLabel {
    fn from(p: PlagiarismLabel) -> Self {
        match p {
            PlagiarismLabel::None => screenhook_domain::PlagiarismLabel::None,
            PlagiarismLabel::Low => screenhook_domain::PlagiarismLabel::Low,
            PlagiarismLabel::Medium => screenhook_domain::PlagiarismLabel::Medium,
            PlagiarismLabel::High => screenhook_domain::PlagiarismLabel::High,
        }
    }
}

/// The scored result of an ended attempt.
#[derive(InputObject)]
pub struct CompanyTestSessionResultInput {
    /// Raw score: 0 to the maximum.
    pub score: i32,
    /// Custom Pre-Screens: required, the test's maximum. Certified Evaluations: omit it (the
    /// framework's maximum is used) or send that same value.
    pub max_score: Option<i32>,
    /// Certified Evaluations: points per skill area in catalogue order (`frameworks`), or none
    /// to label every area from the overall score.
    pub area_points: Option<Vec<i32>>,
    /// Non-proctored sessions: the integrity analysis' verdict, published as
    /// `integrityReviewSuggested` when the review finalizes.
    #[graphql(default = false)]
    pub integrity_review_suggested: bool,
    /// The plagiarism check's verdict, sent as the deprecated `plagiarismLabel` (and
    /// `plagiarismLevel`, 0–3) of the result events; none when no check ran.
    pub plagiarism_label: Option<PlagiarismLabel>,
}

fn points(field: &str, value: i32) -> Result<u32, ApiError> {
    u32::try_from(value).map_err(|_| ApiError::invalid(field, format!("{value} is negative"), "0 or more points"))
}

#[Object]
impl GraderMutation {
    /// Records the result of an ended attempt (status `finalizing`) and fires its event, dated
    /// when the attempt ended. Needs the `grader` permission.
    async fn record_company_test_session_result(
        &self,
        ctx: &Context<'_>,
        id: ID,
        result: CompanyTestSessionResultInput,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let area_points = result
            .area_points
            .unwrap_or_default()
            .into_iter()
            .map(|p| points("result.areaPoints", p))
            .collect::<Result<_, _>>()?;
        let action = SessionAction::RecordResult {
            score: points("result.score", result.score)?,
            max_score: result.max_score.map(|m| points("result.maxScore", m)).transpose()?,
            area_points,
            integrity_suggested: result.integrity_review_suggested,
            plagiarism: result.plagiarism_label.map(Into::into),
        };
        session_action(ctx, Permission::Grader, &id, action).await
    }
}
