//! Owner emails: after the 5th, the 14th and every failure from the 16th, the store queues a
//! notification row in the same transaction as the failure; this sends them.
//!
//! Without SMTP configured, each email is written to the log (WARN) and marked "recorded, not
//! sent", so nothing is dropped silently. A send that fails is marked with its error and logged.

use std::{sync::Arc, time::Duration};

use screenhook_domain::Clock;
use screenhook_store::{Store, StoreError};
use screenhook_webhooks::{MailDisposition, Mailer, OwnerEmail, failure_email};
use tokio_util::sync::CancellationToken;

/// Sends every pending notification once; returns how many were handled.
pub async fn send_pending_notifications(
    store: &dyn Store,
    mailer: &Mailer,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let mut handled = 0;
    loop {
        let pending = store.pending_notifications(100).await?;
        if pending.is_empty() {
            return Ok(handled);
        }
        for notification in pending {
            let outcome = match store.webhook_unscoped(&notification.webhook_id).await? {
                None => "not sent: the webhook was deleted".to_owned(),
                Some((webhook, _)) if webhook.owner_emails.is_empty() => {
                    "not sent: the webhook has no owner emails".to_owned()
                }
                Some((webhook, _)) => {
                    let (subject, body) = failure_email(
                        &webhook.url,
                        notification.consecutive_failures,
                        &notification.last_error,
                        notification.disabled,
                    );
                    let email = OwnerEmail { to: webhook.owner_emails.clone(), subject, body };
                    match mailer.send(&email).await {
                        Ok(MailDisposition::Sent) => "sent".to_owned(),
                        Ok(disposition) => disposition.to_string(),
                        Err(err) => {
                            tracing::warn!(webhook = %webhook.id, %err, "an owner email could not be sent");
                            format!("failed: {err}")
                        }
                    }
                }
            };
            store.mark_notification(notification.id, clock.now(), &outcome).await?;
            handled += 1;
        }
    }
}

/// Sends owner emails as they are queued, until `shutdown`.
pub struct Notifier {
    pub store: Arc<dyn Store>,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub poll_interval: Duration,
}

impl Notifier {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(err) = send_pending_notifications(&*self.store, &self.mailer, &*self.clock).await {
                tracing::warn!(%err, "sending owner emails failed; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }
}
