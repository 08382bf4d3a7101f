//! Proctoring decisions (not in CodeSignal's API, where CodeSignal's own team makes them):
//! `verifyCompanyTestSession` and `rejectCompanyTestSession`. Both need the `proctor`
//! permission, which `admin` does not imply.

use async_graphql::{Context, ID, InputObject, Object};
use screenhook_domain::{Permission, RejectionReason};
use screenhook_engine::SessionAction;

use super::{sessions::session_action, types::CompanyTestSessionObj};

#[derive(Default)]
pub struct ProctorMutation;

/// Why a proctored result is not verified (e.g. `{name: "multiplePeople", description: "…"}`).
#[derive(InputObject)]
pub struct RejectionReasonInput {
    pub name: String,
    pub description: String,
}

#[Object]
impl ProctorMutation {
    /// Verifies a proctored result awaiting verification.
    async fn verify_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        session_action(ctx, Permission::Proctor, &id, SessionAction::Verify).await
    }

    /// Rejects a proctored result. With `technicalIssue: true` a retake is granted at once
    /// (the new session is `retakeSession`); otherwise the invitation expires at its date.
    async fn reject_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reasons: Vec<RejectionReasonInput>,
        technical_issue: Option<bool>,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let reasons =
            reasons.into_iter().map(|r| RejectionReason { name: r.name, description: r.description }).collect();
        let action = SessionAction::NotVerify { reasons, technical_issue: technical_issue.unwrap_or(false) };
        session_action(ctx, Permission::Proctor, &id, action).await
    }
}
