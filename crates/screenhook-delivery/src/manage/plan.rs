//! Applying the Certify transition's plan ([`screenhook_domain::advisor`]): every webhook the
//! plan updates, and the one it creates, passes the verification ping first; if any ping fails,
//! nothing is saved, so a plan is applied whole or not at all.

use screenhook_domain::{
    CompanyId, Webhook, WebhookHealth, WebhookId,
    advisor::{Advice, PlanAction},
};
use screenhook_webhooks::PingError;

use super::{ManageError, WebhookInput, WebhookManager};

/// What applying a plan did.
#[derive(Debug, Clone, Default)]
pub struct PlanApplied {
    /// The webhooks whose subscription changed, as saved.
    pub updated: Vec<(Webhook, WebhookHealth)>,
    /// The webhook the plan created, when the company had none for results.
    pub created: Option<(Webhook, WebhookHealth)>,
}

/// Why a plan was not applied. Every variant saved nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "newWebhookUrl: is required, since no webhook listens to invitation or result events and the plan \
         creates one; allowed: an absolute http(s) URL answering the verification ping"
    )]
    UrlRequired,
    #[error("newWebhookUrl: is given but the plan creates no webhook (one already listens to results); allowed: none")]
    UrlNotExpected,
    #[error("webhook {0} changed after the plan was made, so nothing was applied; make a new plan")]
    Stale(WebhookId),
    #[error("the verification ping of {url} failed, so nothing was applied: {error}")]
    Ping { webhook: Option<WebhookId>, url: String, error: PingError },
    #[error(transparent)]
    Manage(#[from] ManageError),
}

impl WebhookManager {
    /// Applies `advice`'s plan for `company`. `new_webhook_url` names the endpoint of the
    /// webhook the plan creates (only when it creates one); the new webhook gets a generated
    /// secret. A webhook changed since the plan was made refuses the whole plan.
    pub async fn apply_plan(
        &self,
        company: &CompanyId,
        advice: &Advice,
        new_webhook_url: Option<&str>,
    ) -> Result<PlanApplied, ApplyError> {
        let mut updates = Vec::new();
        for plan in advice.webhooks.iter().filter(|p| p.action == PlanAction::Update) {
            let (mut webhook, _) = self.find(company, &plan.webhook_id).await?;
            if webhook.updated_at != plan.updated_at || webhook.events != plan.events_before {
                return Err(ApplyError::Stale(plan.webhook_id.clone()));
            }
            webhook.events = plan.events_after.clone();
            webhook.updated_at = self.clock.now();
            updates.push(webhook);
        }
        let created = match (&advice.new_webhook, new_webhook_url) {
            (Some(events), Some(url)) => Some(self.new_webhook(
                company,
                WebhookInput {
                    url: url.to_owned(),
                    events: events.iter().map(|e| e.name().to_owned()).collect(),
                    ..WebhookInput::default()
                },
            )?),
            (Some(_), None) => return Err(ApplyError::UrlRequired),
            (None, Some(_)) => return Err(ApplyError::UrlNotExpected),
            (None, None) => None,
        };
        for webhook in updates.iter().chain(&created) {
            self.ping(webhook).await.map_err(|error| ApplyError::Ping {
                webhook: created.as_ref().is_none_or(|new| new.id != webhook.id).then(|| webhook.id.clone()),
                url: webhook.url.clone(),
                error,
            })?;
        }
        let mut applied = PlanApplied::default();
        for webhook in &updates {
            self.store.update_webhook(webhook).await.map_err(ManageError::from)?;
            applied.updated.push(self.find(company, &webhook.id).await?);
        }
        if let Some(webhook) = &created {
            self.store.insert_webhook(webhook).await.map_err(ManageError::from)?;
            applied.created = Some(self.find(company, &webhook.id).await?);
        }
        Ok(applied)
    }
}
