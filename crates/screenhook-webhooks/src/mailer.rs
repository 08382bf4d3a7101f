//! Failure emails to a webhook's owners.
//!
//! CodeSignal emails the owner addresses after the 5th and 14th failure and
//! after every failure from the 16th on (its documented schedule, which
//! lives in [`crate::retry`]). This module only builds and
//! sends those emails:
//!
//! * [`failure_email`] is the pure text builder.
//! * [`Mailer::Smtp`] sends through an SMTP relay with lettre (rustls with
//!   the same aws-lc-rs provider as the HTTP client, so the process has one
//!   crypto provider).
//! * [`Mailer::Log`] is what runs when no SMTP server is configured: the
//!   email is logged in full at WARN and reported as
//!   [`MailDisposition::RecordedNotSent`] — never dropped silently, so an
//!   operator can see both that owners would have been told and what.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// How long one SMTP conversation may take before it is abandoned.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One email to a webhook's owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text; for a relay on localhost or a test sink only.
    None,
    /// Plain connect, then STARTTLS, which is required (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// Where and how to send owner emails.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// Both must be set for the relay to be authenticated.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From` address, e.g. `screenhook <noreply@example.com>`.
    pub from: String,
    pub tls: SmtpTls,
    pub timeout: Duration,
}

impl SmtpConfig {
    /// An unauthenticated STARTTLS relay with the [`SMTP_TIMEOUT`]; set the
    /// other fields as needed.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            username: None,
            password: None,
            from: from.into(),
            tls: SmtpTls::default(),
            timeout: SMTP_TIMEOUT,
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why an owner email could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("sender address {address:?} is not a valid mailbox: {reason}")]
    InvalidFrom { address: String, reason: String },
    #[error("owner address {address:?} is not a valid mailbox: {reason}")]
    InvalidRecipient { address: String, reason: String },
    #[error("the email has no recipients")]
    NoRecipients,
    #[error("could not build the email: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// What happened to an email that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailDisposition {
    /// The relay accepted it.
    Sent,
    /// No SMTP server is configured; it was logged at WARN instead.
    RecordedNotSent,
}

impl fmt::Display for MailDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sent => "sent",
            Self::RecordedNotSent => "recorded, not sent",
        })
    }
}

/// Sends through an SMTP relay. Cheap to clone.
#[derive(Clone)]
pub struct SmtpMailer {
    inner: Arc<SmtpInner>,
}

struct SmtpInner {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.inner.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let from: Mailbox = config.from.parse().map_err(|error: lettre::address::AddressError| {
            MailError::InvalidFrom { address: config.from.clone(), reason: error.to_string() }
        })?;
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(Self { inner: Arc::new(SmtpInner { transport: builder.build(), from }) })
    }

    pub async fn send(&self, email: &OwnerEmail) -> Result<(), MailError> {
        if email.to.is_empty() {
            return Err(MailError::NoRecipients);
        }
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .subject(email.subject.as_str())
            .header(ContentType::TEXT_PLAIN);
        for address in &email.to {
            let mailbox: Mailbox = address.parse().map_err(|error: lettre::address::AddressError| {
                MailError::InvalidRecipient { address: address.clone(), reason: error.to_string() }
            })?;
            builder = builder.to(mailbox);
        }
        let message = builder.body(email.body.clone())?;
        self.inner.transport.send(message).await?;
        Ok(())
    }
}

/// Stands in for SMTP when none is configured: logs each email at WARN.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

impl LogMailer {
    pub fn record(&self, email: &OwnerEmail) {
        tracing::warn!(
            to = ?email.to,
            subject = %email.subject,
            body = %email.body,
            "no SMTP server configured: owner email recorded, not sent"
        );
    }
}

/// The owner-email channel the worker uses.
#[derive(Debug, Clone)]
pub enum Mailer {
    Smtp(SmtpMailer),
    Log(LogMailer),
}

impl Mailer {
    /// SMTP when configured, else the logging stand-in.
    pub fn from_config(config: Option<&SmtpConfig>) -> Result<Self, MailError> {
        Ok(match config {
            Some(config) => Self::Smtp(SmtpMailer::new(config)?),
            None => Self::Log(LogMailer),
        })
    }

    pub async fn send(&self, email: &OwnerEmail) -> Result<MailDisposition, MailError> {
        match self {
            Self::Smtp(mailer) => mailer.send(email).await.map(|()| MailDisposition::Sent),
            Self::Log(mailer) => {
                mailer.record(email);
                Ok(MailDisposition::RecordedNotSent)
            }
        }
    }
}

/// Subject and body of the failure email for a webhook that has failed
/// `fail_count` consecutive attempts, the last with `last_error`;
/// `disabled` when this failure disabled it.
pub fn failure_email(webhook_url: &str, fail_count: u32, last_error: &str, disabled: bool) -> (String, String) {
    let attempts =
        if fail_count == 1 { "1 failed attempt".to_owned() } else { format!("{fail_count} failed attempts") };
    let subject = if disabled {
        format!("screenhook: webhook disabled after {attempts}")
    } else {
        format!("screenhook: webhook deliveries failing ({attempts} in a row)")
    };
    // Fixed text is wrapped at 72 columns: plain-text mail clients do not
    // reflow, and short lines keep the body 7-bit clean.
    // screenhook keeps a disabled webhook's queue (CodeSignal clears it), and
    // only a session's own later events wait behind a failing one.
    let what_now = if disabled {
        "The webhook has been DISABLED. Its queued events are kept: nothing is\n\
         lost. Fix the endpoint so that it answers HTTP 200 OK, then open the\n\
         webhook's settings and run \"test and save\": the kept events are\n\
         delivered at once."
    } else {
        "Events are retried with growing delays, and each test session's events\n\
         stay in order behind its oldest undelivered one. While the endpoint\n\
         fails, it is probed with one request at a time. Fix the endpoint so\n\
         that it answers 200 OK (any other status, a redirect or a timeout\n\
         counts as a failure). If failures continue, the webhook will be\n\
         disabled; its events are kept."
    };
    let body = format!(
        "Deliveries to your webhook have failed: {attempts} in a row.\n\
         \n\
         Endpoint:   {webhook_url}\n\
         Last error: {last_error}\n\
         \n\
         {what_now}\n\
         \n\
         -- \n\
         screenhook\n"
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp_sink::SmtpSink;

    #[test]
    fn failure_email_says_what_happened_and_what_to_do() {
        let (subject, body) = failure_email("https://hooks.example.com/cs", 5, "status 500", false);
        assert_eq!(subject, "screenhook: webhook deliveries failing (5 failed attempts in a row)");
        assert!(body.starts_with("Deliveries to your webhook have failed: 5 failed attempts in a row.\n"));
        assert!(body.contains("Endpoint:   https://hooks.example.com/cs\n"));
        assert!(body.contains("Last error: status 500\n"));
        assert!(body.contains("answers 200 OK"));
        assert!(!body.contains("DISABLED"));

        let (subject, body) = failure_email("https://hooks.example.com/cs", 25, "transport error: timeout", true);
        assert_eq!(subject, "screenhook: webhook disabled after 25 failed attempts");
        assert!(body.contains("DISABLED"));
        assert!(body.contains("test and save"));
        assert_eq!(
            failure_email("u", 1, "e", false).0,
            "screenhook: webhook deliveries failing (1 failed attempt in a row)"
        );
        assert!(body.lines().all(|line| line.len() <= 76), "{body}");
    }

    #[tokio::test]
    async fn without_smtp_the_email_is_recorded_not_sent() {
        let mailer = Mailer::from_config(None).unwrap();
        let (subject, body) = failure_email("https://x.example/", 5, "status 500", false);
        let email = OwnerEmail { to: vec!["owner@example.com".into()], subject, body };
        let disposition = mailer.send(&email).await.unwrap();
        assert_eq!(disposition, MailDisposition::RecordedNotSent);
        assert_eq!(disposition.to_string(), "recorded, not sent");
    }

    fn sink_config(port: u16) -> SmtpConfig {
        SmtpConfig { tls: SmtpTls::None, ..SmtpConfig::new("127.0.0.1", port, "screenhook <noreply@screenhook.test>") }
    }

    #[tokio::test]
    async fn smtp_mailer_delivers_to_a_real_smtp_server() {
        let sink = SmtpSink::start().await.unwrap();
        let mailer = Mailer::from_config(Some(&sink_config(sink.addr().port()))).unwrap();
        let (subject, body) = failure_email("https://hooks.example.com/cs", 14, "status 503", false);
        let email = OwnerEmail {
            to: vec!["alice@example.com".into(), "Bob <bob@example.com>".into()],
            subject: subject.clone(),
            body: body.clone(),
        };
        assert_eq!(mailer.send(&email).await.unwrap(), MailDisposition::Sent);

        let received = tokio::time::timeout(Duration::from_secs(10), sink.wait_for(1))
            .await
            .expect("the sink received the message");
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert_eq!(mail.from, "noreply@screenhook.test");
        assert_eq!(mail.recipients, ["alice@example.com", "bob@example.com"]);
        let (head, text) = mail.data.split_once("\r\n\r\n").expect("headers, blank line, body");
        // Long header lines are folded (RFC 5322 §2.2.3); unfold to compare.
        let head = head.replace("\r\n ", " ");
        assert!(head.contains(&format!("Subject: {subject}\r\n")), "{head}");
        assert!(head.contains("From: screenhook <noreply@screenhook.test>"), "{head}");
        assert!(head.contains("Content-Type: text/plain"), "{head}");
        assert_eq!(text.replace("\r\n", "\n"), body);
    }

    #[tokio::test]
    async fn bad_addresses_and_refusing_servers_are_errors() {
        let mut config = sink_config(1);
        config.from = "not an address".into();
        assert!(matches!(SmtpMailer::new(&config), Err(MailError::InvalidFrom { .. })));

        let sink = SmtpSink::start().await.unwrap();
        let mailer = SmtpMailer::new(&sink_config(sink.addr().port())).unwrap();
        let mut email = OwnerEmail { to: vec![], subject: "s".into(), body: "b".into() };
        assert!(matches!(mailer.send(&email).await, Err(MailError::NoRecipients)));
        email.to = vec!["nobody".into()];
        let error = mailer.send(&email).await.unwrap_err();
        assert!(matches!(error, MailError::InvalidRecipient { .. }), "{error}");
        assert!(error.to_string().contains("\"nobody\""));

        // A port nobody listens on: a transport error, not a panic or a hang.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let mailer = SmtpMailer::new(&sink_config(port)).unwrap();
        email.to = vec!["alice@example.com".into()];
        assert!(matches!(mailer.send(&email).await, Err(MailError::Smtp(_))));
    }

    #[test]
    fn config_debug_redacts_the_password() {
        let mut config = sink_config(25);
        config.password = Some("hunter2".into());
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
