//! Invitations: `companyTestSession`, `companyTestSessions`, `atsCompanyTestSessions` and the
//! session mutations. All need the `sessions` permission (results also need `results`).

use async_graphql::{Context, ID, InputObject, Object};
use screenhook_domain::{CertificationRequestId, Integrations, Permission, SessionId, TestId};
use screenhook_engine::{InviteInput, SessionAction};
use screenhook_store::AtsIdType as StoreAtsIdType;

use super::{
    allowed, engine, list_cost, millis, page, parse_id,
    types::{AtsIdType, CompanyTestSessionObj, Ts},
};
use crate::error::ApiError;

/// Page size of `companyTestSessions` when `first` is omitted.
pub const DEFAULT_SESSIONS: i32 = 50;

#[derive(Default)]
pub struct SessionQuery;

#[derive(Default)]
pub struct SessionMutation;

/// `EmailReminder`: accepted and ignored, as this server sends no email.
#[derive(InputObject, Debug, Clone)]
pub struct EmailReminder {
    pub template_name: String,
    pub time_before_expiration: Option<f64>,
}

/// Not in CodeSignal's input: ATS ids to attach (for `atsCompanyTestSessions` lookups).
#[derive(InputObject, Debug, Clone, Default)]
pub struct IntegrationsInput {
    pub greenhouse_candidate_id: Option<String>,
    pub greenhouse_application_id: Option<String>,
    pub lever_opportunity_id: Option<String>,
    pub smart_recruiters_order_id: Option<String>,
}

/// `createCompanyTestSession`.
#[derive(InputObject)]
pub struct TestSessionInput {
    pub test_id: ID,
    pub candidate_first_name: Option<String>,
    pub candidate_last_name: Option<String>,
    pub candidate_email: Option<String>,
    /// Accepted; this server never emails (the link is `invitationUrl`).
    pub no_invitation_email: Option<bool>,
    /// Return the still-pending invitation for the same test and email instead of a new one.
    pub prefer_existing: Option<bool>,
    /// Accepted and ignored: this server sends no email.
    pub email_reminders: Option<Vec<EmailReminder>>,
    /// ms (1 minute – 24 hours); overrides the test's duration.
    pub custom_duration: Option<f64>,
    /// ms (1 day – 6 months); overrides the test's default expiration.
    pub expire_duration: Option<f64>,
    /// Echoed in webhooks (at most 256 characters).
    pub external_id: Option<String>,
    /// Accepted and not kept.
    pub post_session_redirect_url: Option<String>,
    pub integrations: Option<IntegrationsInput>,
}

fn session_id(id: &ID) -> Result<SessionId, ApiError> {
    parse_id("id", id, SessionId::parse)
}

/// Runs `action` on a session of the caller's company.
pub(crate) async fn session_action(
    ctx: &Context<'_>,
    permission: Permission,
    id: &ID,
    action: SessionAction,
) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
    let caller = allowed(ctx, permission)?;
    let id = session_id(id)?;
    let outcome = engine(ctx).session_command(caller.company(), &id, action).await.map_err(ApiError::from)?;
    Ok(Some(CompanyTestSessionObj(outcome.session)))
}

#[Object]
impl SessionQuery {
    #[graphql(complexity = "2 + child_complexity")]
    async fn company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let sid = session_id(&id)?;
        let session = engine(ctx).store.session(caller.company(), &sid).await.map_err(ApiError::from)?;
        match session {
            Some(s) => Ok(Some(CompanyTestSessionObj(s))),
            None => Err(ApiError::not_found("test session", id.as_str()).into()),
        }
    }

    /// Invitations to one test, ordered by finish date, newest first (unfinished last).
    /// `first` defaults to 50.
    #[graphql(complexity = "list_cost(2, first, DEFAULT_SESSIONS, child_complexity)")]
    async fn company_test_sessions(
        &self,
        ctx: &Context<'_>,
        company_test_id: ID,
        first: Option<i32>,
        offset: Option<i32>,
        ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<Vec<Option<CompanyTestSessionObj>>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let test_id = parse_id("companyTestId", &company_test_id, TestId::parse)?;
        let store = &engine(ctx).store;
        store
            .test(caller.company(), &test_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("test", company_test_id.as_str()))?;
        let page = page(first.unwrap_or(DEFAULT_SESSIONS), offset)?;
        let sessions = match ids {
            None => store.sessions_of_test(caller.company(), &test_id, page).await.map_err(ApiError::from)?,
            Some(ids) => {
                let mut found = Vec::new();
                for id in &ids {
                    let sid = parse_id("ids", id, SessionId::parse)?;
                    if let Some(s) = store.session(caller.company(), &sid).await.map_err(ApiError::from)?
                        && s.test_id == test_id
                    {
                        found.push(s);
                    }
                }
                // Same order as the store's: newest finish first, unfinished last (newest created first).
                found.sort_by(|a, b| {
                    b.finish_date
                        .is_some()
                        .cmp(&a.finish_date.is_some())
                        .then(b.finish_date.cmp(&a.finish_date))
                        .then(b.create_date.cmp(&a.create_date))
                });
                super::paginate(found, page).0
            }
        };
        Ok(sessions.into_iter().map(|s| Some(CompanyTestSessionObj(s))).collect())
    }

    /// The invitation a certification request imported from a Certify export became (the
    /// first of its sessions: follow `retakeSession` to the newest). The lookup from a
    /// Certify-era `certificationRequestId` to Pre-Screen; null when none was imported.
    #[graphql(complexity = "2 + child_complexity")]
    async fn certify_migrated_session(
        &self,
        ctx: &Context<'_>,
        certification_request_id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let old = parse_id("certificationRequestId", &certification_request_id, CertificationRequestId::parse)?;
        let store = &engine(ctx).store;
        let Some(id) = store.certify_request(caller.company(), &old).await.map_err(ApiError::from)? else {
            return Ok(None);
        };
        Ok(store.session(caller.company(), &id).await.map_err(ApiError::from)?.map(CompanyTestSessionObj))
    }

    /// Invitations carrying a Greenhouse id, newest first.
    async fn ats_company_test_sessions(
        &self,
        ctx: &Context<'_>,
        id: String,
        id_type: AtsIdType,
    ) -> async_graphql::Result<Vec<Option<CompanyTestSessionObj>>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let id_type = match id_type {
            AtsIdType::GreenhouseApplicationId => StoreAtsIdType::GreenhouseApplicationId,
            AtsIdType::GreenhouseCandidateId => StoreAtsIdType::GreenhouseCandidateId,
        };
        let sessions =
            engine(ctx).store.sessions_by_ats_id(caller.company(), id_type, &id).await.map_err(ApiError::from)?;
        Ok(sessions.into_iter().map(|s| Some(CompanyTestSessionObj(s))).collect())
    }
}

#[Object]
impl SessionMutation {
    /// Invites a candidate. The candidate's link is the returned session's `invitationUrl`.
    async fn create_company_test_session(
        &self,
        ctx: &Context<'_>,
        session_fields: TestSessionInput,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let caller = allowed(ctx, Permission::Sessions)?;
        let f = session_fields;
        let integrations = f.integrations.unwrap_or_default();
        let input = InviteInput {
            test_id: parse_id("testId", &f.test_id, TestId::parse)?,
            candidate_first_name: f.candidate_first_name.unwrap_or_default(),
            candidate_last_name: f.candidate_last_name.unwrap_or_default(),
            candidate_email: f.candidate_email.unwrap_or_default(),
            external_id: f.external_id,
            expire_duration: f.expire_duration.map(|v| millis("expireDuration", v)).transpose()?,
            custom_duration: f.custom_duration.map(|v| millis("customDuration", v)).transpose()?,
            integrations: Integrations {
                greenhouse_candidate_id: integrations.greenhouse_candidate_id,
                greenhouse_application_id: integrations.greenhouse_application_id,
                lever_opportunity_id: integrations.lever_opportunity_id,
                smart_recruiters_order_id: integrations.smart_recruiters_order_id,
            },
            prefer_existing: f.prefer_existing.unwrap_or(false),
        };
        let outcome = engine(ctx).invite(caller.company(), input).await.map_err(ApiError::from)?;
        Ok(Some(CompanyTestSessionObj(outcome.session)))
    }

    /// Returns the deleted session's id. `sendNotificationEmail` is accepted; no email is sent.
    async fn delete_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
        send_notification_email: Option<bool>,
    ) -> async_graphql::Result<ID> {
        let _ = send_notification_email;
        session_action(ctx, Permission::Sessions, &id, SessionAction::Delete).await?;
        Ok(id)
    }

    /// Moves the expiration later; an earlier date is refused.
    async fn edit_company_test_session_expiration(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expiration_date: Ts,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        session_action(
            ctx,
            Permission::Sessions,
            &id,
            SessionAction::ExtendExpiration { expiration_date: expiration_date.0 },
        )
        .await
    }

    /// `customDuration` in ms.
    async fn edit_company_test_session_duration(
        &self,
        ctx: &Context<'_>,
        id: ID,
        custom_duration: f64,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let custom_duration = millis("customDuration", custom_duration)?;
        session_action(ctx, Permission::Sessions, &id, SessionAction::EditDuration { custom_duration }).await
    }

    /// Issues a new invitation for the same candidate; returns this session, whose
    /// `reactivatedSession` names the new one. `sendNotificationEmail` is accepted; no email is sent.
    async fn reactivate_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
        send_notification_email: Option<bool>,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        let _ = send_notification_email;
        session_action(ctx, Permission::Sessions, &id, SessionAction::Reactivate { expire_duration: None }).await
    }

    async fn resend_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        session_action(ctx, Permission::Sessions, &id, SessionAction::Resend).await
    }

    async fn archive_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        session_action(ctx, Permission::Sessions, &id, SessionAction::Archive).await
    }

    async fn unarchive_company_test_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<CompanyTestSessionObj>> {
        session_action(ctx, Permission::Sessions, &id, SessionAction::Unarchive).await
    }
}
