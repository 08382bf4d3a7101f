//! Owner emails at the documented failure counts, over a real SMTP conversation; and,
//! without SMTP, recorded rather than dropped.

use axum::http::StatusCode;
use screenhook_delivery::send_pending_notifications;
use screenhook_domain::{EventKind, WebhookId};
use screenhook_testkit::TestReceiver;
use screenhook_webhooks::{Mailer, SmtpConfig, SmtpMailer, SmtpTls, smtp_sink::SmtpSink};

use crate::{App, app};

async fn fail_until_disabled(app: &App) {
    let receiver = TestReceiver::start().await;
    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    app.webhook("wh", &receiver.url("/"), &EventKind::ALL).await;
    app.invite("jane@example.com").await;
    let id = WebhookId::parse("wh").unwrap();
    for _ in 0..25 {
        app.worker.run_pending().await.unwrap();
        let (_, health) = app.store().webhook(&app.company, &id).await.unwrap().unwrap();
        app.clock.set(health.probe_after);
    }
}

#[tokio::test]
async fn owners_are_emailed_after_the_5th_the_14th_and_every_failure_from_the_16th() {
    let app = app().await;
    fail_until_disabled(&app).await;
    let sink = SmtpSink::start().await.unwrap();
    let mut config = SmtpConfig::new("127.0.0.1", sink.addr().port(), "screenhook <noreply@example.com>");
    config.tls = SmtpTls::None;
    let mailer = Mailer::Smtp(SmtpMailer::new(&config).unwrap());
    assert_eq!(send_pending_notifications(app.store(), &mailer, &*app.clock).await.unwrap(), 12);
    let mails = sink.wait_for(12).await;
    assert_eq!(mails.len(), 12);
    for mail in &mails {
        let mut recipients = mail.recipients.clone();
        recipients.sort();
        assert_eq!(recipients, vec!["oncall@example.com", "owner@example.com"]);
        assert!(mail.data.contains("503"), "the email says what the endpoint answered");
    }
    let counts: Vec<u32> = mails
        .iter()
        .map(|m| {
            let subject = m.data.lines().find(|l| l.starts_with("Subject:")).unwrap();
            let digits: String =
                subject.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or_else(|_| panic!("a count in {subject}"))
        })
        .collect();
    assert_eq!(counts, vec![5, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    assert!(mails.last().unwrap().data.to_lowercase().contains("disabled"));
    // Sent once each.
    assert_eq!(send_pending_notifications(app.store(), &mailer, &*app.clock).await.unwrap(), 0);
}

#[tokio::test]
async fn without_smtp_emails_are_recorded_not_dropped() {
    let app = app().await;
    fail_until_disabled(&app).await;
    let mailer = Mailer::from_config(None).unwrap();
    assert_eq!(send_pending_notifications(app.store(), &mailer, &*app.clock).await.unwrap(), 12);
    assert!(app.store().pending_notifications(100).await.unwrap().is_empty());
}
