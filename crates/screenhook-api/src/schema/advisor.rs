//! The Certify transition's advisor over GraphQL: `certifyMigrationPlan` (Step 1, Step 2 and
//! the plan for the company's webhooks) and `applyCertifyMigrationPlan`, the same advice and
//! the same apply as the console's Integrations → Certify transition page and
//! `screenhook advise`. Both need the `webhooks` permission.
//!
//! The apply takes the plan's `fingerprint`: if the evidence or a webhook changed since the
//! plan was read, nothing is applied (`CONFLICT`) and the client reads the new plan. Each
//! webhook the plan changes or creates gets the verification ping first; if any endpoint
//! fails, nothing is applied (`WEBHOOK_VERIFICATION_FAILED`).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use screenhook_delivery::{ApplyError, WebhookManager};
use screenhook_domain::{
    EventKind, Permission,
    advisor::{Advice, PlanAction, PlanOptions, Step1},
};

use super::{allowed, engine, types::Ts, webhooks::WebhookObj};
use crate::error::{ApiError, Code};

#[derive(Default)]
pub struct AdvisorQuery;

#[derive(Default)]
pub struct AdvisorMutation;

/// Step 1: are the company's Certify assessments (its Certified Evaluations) proctored?
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum CertifyStep1 {
    /// Every Certified Evaluation's most recent Coding Report reads "Proctored: Yes".
    Proctored,
    /// Every one reads "Proctored: No".
    NotProctored,
    /// Some are and some are not: listen to both of Step 2's lists.
    Mixed,
    /// No Certified Evaluations: nothing reaches Certify listeners.
    NoCertifiedEvaluations,
}

impl From<Step1> for CertifyStep1 {
    fn from(step1: Step1) -> Self {
        match step1 {
            Step1::Proctored => CertifyStep1::Proctored,
            Step1::NotProctored => CertifyStep1::NotProctored,
            Step1::Mixed => CertifyStep1::Mixed,
            Step1::NoCertifiedEvaluations => CertifyStep1::NoCertifiedEvaluations,
        }
    }
}

/// What the plan does to a webhook.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum CertifyPlanAction {
    /// Its events change to `eventsAfter`.
    Update,
    /// It already listens to every recommended event.
    UpToDate,
    /// It listens to no invitation or result events: left alone.
    OutOfScope,
}

impl From<PlanAction> for CertifyPlanAction {
    fn from(action: PlanAction) -> Self {
        match action {
            PlanAction::Update => CertifyPlanAction::Update,
            PlanAction::UpToDate => CertifyPlanAction::UpToDate,
            PlanAction::OutOfScope => CertifyPlanAction::OutOfScope,
        }
    }
}

/// A Certified Evaluation's Step 1 evidence.
#[derive(SimpleObject)]
pub struct CertifyTestEvidence {
    pub company_test_id: ID,
    pub title: String,
    pub framework_id: ID,
    /// The test's own setting, which decides when it has no result yet.
    pub proctored_setting: bool,
    /// The most recent result, whose Coding Report reads "Proctored: Yes/No".
    pub latest_result: Option<CertifyLatestResult>,
    /// What Step 1 counts for this test.
    pub proctored: bool,
}

#[derive(SimpleObject)]
pub struct CertifyLatestResult {
    pub company_test_session_id: ID,
    pub candidate: String,
    pub finish_date: Ts,
    pub proctored: bool,
}

/// A Certify event a webhook still listens to, and the Pre-Screen events replacing it.
#[derive(SimpleObject)]
pub struct CertifyLegacySubscription {
    pub certify_event: String,
    pub replaced_by: Vec<String>,
}

/// The plan for one webhook.
#[derive(SimpleObject)]
pub struct CertifyWebhookPlan {
    pub webhook_id: ID,
    pub url: String,
    pub action: CertifyPlanAction,
    pub events_before: Vec<String>,
    pub legacy_events: Vec<CertifyLegacySubscription>,
    /// Recommended events it does not listen to yet.
    pub missing_events: Vec<String>,
    /// Certify events removed (only with `dropLegacy`).
    pub dropped_events: Vec<String>,
    pub events_after: Vec<String>,
}

/// Steps 1 and 2 and the plan.
#[derive(SimpleObject)]
pub struct CertifyMigrationPlan {
    pub step1: CertifyStep1,
    pub tests: Vec<CertifyTestEvidence>,
    /// Step 2: the Pre-Screen events to listen to.
    pub recommended_events: Vec<String>,
    pub webhooks: Vec<CertifyWebhookPlan>,
    /// When no webhook listens to invitations or results: the events of the webhook the
    /// apply creates (it then needs `newWebhookUrl`).
    pub new_webhook_events: Option<Vec<String>>,
    pub drop_legacy: bool,
    /// Applying would change nothing.
    pub up_to_date: bool,
    /// Send it back to `applyCertifyMigrationPlan`.
    pub fingerprint: String,
}

/// What the apply saved.
#[derive(SimpleObject)]
pub struct CertifyMigrationApplied {
    pub updated_webhooks: Vec<WebhookObj>,
    /// Its secret is read with `revealWebhookSecret`.
    pub created_webhook: Option<WebhookObj>,
}

fn names(events: &[EventKind]) -> Vec<String> {
    events.iter().map(|e| e.name().to_owned()).collect()
}

fn plan_of(advice: &Advice) -> CertifyMigrationPlan {
    CertifyMigrationPlan {
        step1: advice.step1.into(),
        tests: advice
            .tests
            .iter()
            .map(|t| CertifyTestEvidence {
                company_test_id: ID(t.test_id.to_string()),
                title: t.title.clone(),
                framework_id: ID(t.framework.to_string()),
                proctored_setting: t.proctored_setting,
                latest_result: t.latest.as_ref().map(|l| CertifyLatestResult {
                    company_test_session_id: ID(l.session_id.to_string()),
                    candidate: l.candidate.clone(),
                    finish_date: Ts(l.finished_at),
                    proctored: l.proctored,
                }),
                proctored: t.proctored(),
            })
            .collect(),
        recommended_events: names(&advice.recommended),
        webhooks: advice
            .webhooks
            .iter()
            .map(|w| CertifyWebhookPlan {
                webhook_id: ID(w.webhook_id.to_string()),
                url: w.url.clone(),
                action: w.action.into(),
                events_before: names(&w.events_before),
                legacy_events: w
                    .legacy
                    .iter()
                    .map(|l| CertifyLegacySubscription {
                        certify_event: l.certify.name().to_owned(),
                        replaced_by: names(&l.replaced_by),
                    })
                    .collect(),
                missing_events: names(&w.missing),
                dropped_events: names(&w.dropped),
                events_after: names(&w.events_after),
            })
            .collect(),
        new_webhook_events: advice.new_webhook.as_deref().map(names),
        drop_legacy: advice.options.drop_legacy,
        up_to_date: advice.is_up_to_date(),
        fingerprint: advice.fingerprint(),
    }
}

#[Object]
impl AdvisorQuery {
    /// The Certify transition's Step 1 (are the Certified Evaluations proctored, with each
    /// one's evidence), Step 2 (the Pre-Screen events to listen to) and the plan for the
    /// company's webhooks. `dropLegacy` plans to remove Certify subscriptions too (kept by
    /// default: the legacy bridge keeps Certify listeners working).
    async fn certify_migration_plan(
        &self,
        ctx: &Context<'_>,
        drop_legacy: Option<bool>,
    ) -> async_graphql::Result<CertifyMigrationPlan> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let advice = engine(ctx)
            .certify_advice(caller.company(), PlanOptions { drop_legacy: drop_legacy.unwrap_or(false) })
            .await
            .map_err(ApiError::from)?;
        Ok(plan_of(&advice))
    }
}

#[Object]
impl AdvisorMutation {
    /// Applies the plan `certifyMigrationPlan` answered (its `fingerprint`, with the same
    /// `dropLegacy`). `newWebhookUrl` is required when the plan creates a webhook and refused
    /// otherwise. All or nothing: see the module docs.
    async fn apply_certify_migration_plan(
        &self,
        ctx: &Context<'_>,
        fingerprint: String,
        drop_legacy: Option<bool>,
        new_webhook_url: Option<String>,
    ) -> async_graphql::Result<CertifyMigrationApplied> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let advice = engine(ctx)
            .certify_advice(caller.company(), PlanOptions { drop_legacy: drop_legacy.unwrap_or(false) })
            .await
            .map_err(ApiError::from)?;
        if advice.fingerprint() != fingerprint {
            return Err(ApiError::new(
                Code::Conflict,
                "fingerprint: the plan changed since it was read, so nothing was applied; read certifyMigrationPlan \
                 again",
            )
            .into());
        }
        let manager = ctx.data_unchecked::<WebhookManager>();
        let applied =
            manager.apply_plan(caller.company(), &advice, new_webhook_url.as_deref()).await.map_err(apply_error)?;
        Ok(CertifyMigrationApplied {
            updated_webhooks: applied.updated.into_iter().map(WebhookObj::from).collect(),
            created_webhook: applied.created.map(WebhookObj::from),
        })
    }
}

fn apply_error(err: ApplyError) -> ApiError {
    match err {
        ApplyError::UrlRequired => ApiError::invalid(
            "newWebhookUrl",
            "is required: no webhook listens to invitations or results, so the plan creates one",
            "an https:// URL of your endpoint",
        ),
        ApplyError::UrlNotExpected => {
            ApiError::invalid("newWebhookUrl", "is not used: the plan creates no webhook", "omit it, or null")
        }
        err @ ApplyError::Stale(_) => ApiError::new(Code::Conflict, err.to_string()),
        ApplyError::Ping { .. } => ApiError::new(Code::WebhookVerificationFailed, err.to_string()),
        ApplyError::Manage(err) => err.into(),
    }
}
