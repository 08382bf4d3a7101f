//! What every console page shows around its content, and the formatting pages share.

use screenhook_domain::{
    Millis, Permission, SessionStatus, Timestamp, VerificationStatus, WebhookState,
    time::{civil_from_days, days_from_civil},
};

use crate::auth::Signed;

/// The top bar and the sidebar: what the signed-in key may use, and where the person is.
#[derive(Debug, Clone)]
pub struct Nav {
    pub company: String,
    pub key: String,
    pub sandbox: bool,
    pub csrf: String,
    pub current: &'static str,
    pub tests: bool,
    pub results: bool,
    pub webhooks: bool,
    pub admin: bool,
    pub proctor: bool,
}

impl Nav {
    pub fn new(signed: &Signed, current: &'static str) -> Nav {
        Nav {
            company: signed.company.name.clone(),
            key: signed.key.description.clone(),
            sandbox: signed.company.sandbox,
            csrf: signed.csrf(),
            current,
            tests: signed.allows(Permission::Tests),
            results: signed.allows(Permission::Results),
            webhooks: signed.allows(Permission::Webhooks),
            admin: signed.allows(Permission::Admin),
            proctor: signed.allows(Permission::Proctor),
        }
    }

    /// `class="current"` for the sidebar link of `section`.
    pub fn class(&self, section: &str) -> &'static str {
        if self.current == section { "current" } else { "" }
    }
}

/// A message above a page's content after an action.
#[derive(Debug, Clone)]
pub struct Notice {
    /// `ok`, `bad` or `info`.
    pub kind: &'static str,
    pub text: String,
}

impl Notice {
    pub fn ok(text: impl Into<String>) -> Option<Notice> {
        Some(Notice { kind: "ok", text: text.into() })
    }

    pub fn bad(text: impl Into<String>) -> Option<Notice> {
        Some(Notice { kind: "bad", text: text.into() })
    }
}

/// `2026-12-04 13:05 UTC`.
pub fn when(at: Timestamp) -> String {
    let ms = at.as_millis();
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", in_day / 3600, in_day % 3600 / 60)
}

/// An optional time, or a dash.
pub fn when_opt(at: Option<Timestamp>) -> String {
    at.map(when).unwrap_or_else(|| "—".to_owned())
}

/// The value of an `<input type="datetime-local">` for `at` (UTC).
pub fn datetime_local(at: Timestamp) -> String {
    when(at).trim_end_matches(" UTC").replacen(' ', "T", 1)
}

/// Parses an `<input type="datetime-local">` value, read as UTC.
pub fn parse_datetime_local(raw: &str) -> Option<Timestamp> {
    let (date, time) = raw.trim().split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min) = (t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(0..24).contains(&h) || !(0..60).contains(&min) {
        return None;
    }
    let days = days_from_civil(y, m, day);
    Some(Timestamp::from_millis(((days * 24 + h) * 60 + min) * 60_000))
}

/// `1 h 10 min`, `45 s`.
pub fn duration(d: Millis) -> String {
    let secs = d.as_millis() / 1000;
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60).replace(" 0 s", ""),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60).replace(" 0 min", ""),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600).replace(" 0 h", ""),
    }
}

/// The badge class of a session status.
pub fn status_class(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Pending => "info",
        SessionStatus::Active | SessionStatus::Finalizing => "warn",
        SessionStatus::Over => "ok",
        SessionStatus::Expired | SessionStatus::Declined => "bad",
        SessionStatus::Deleted | SessionStatus::Archived => "",
    }
}

/// The words and badge class of a verification status (`—` for none).
pub fn verification(status: Option<VerificationStatus>) -> (&'static str, &'static str) {
    match status {
        None => ("—", ""),
        Some(VerificationStatus::Pending) => ("Pending verification", "warn"),
        Some(VerificationStatus::Verified) => ("Verified", "ok"),
        Some(VerificationStatus::NotVerified) => ("Not verified", "bad"),
    }
}

/// The words and badge class of a webhook's state, as the Manage Webhooks page names them.
pub fn health(state: WebhookState) -> (&'static str, &'static str) {
    match state {
        WebhookState::Active => ("healthy", "ok"),
        WebhookState::Unhealthy => ("unhealthy", "warn"),
        WebhookState::Disabled => ("disabled", "bad"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(when(Timestamp::from_millis(0)), "1970-01-01 00:00 UTC");
        assert_eq!(when(Timestamp::from_millis(1_750_000_000_123)), "2025-06-15 15:06 UTC");
        let at = Timestamp::from_millis(1_796_400_000_000);
        assert_eq!(parse_datetime_local(&datetime_local(at)), Some(at));
        assert_eq!(parse_datetime_local("2026-13-01T00:00"), None);
        assert_eq!(parse_datetime_local("yesterday"), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Millis::from_millis(45_000)), "45 s");
        assert_eq!(duration(Millis::minutes(70)), "1 h 10 min");
        assert_eq!(duration(Millis::minutes(60)), "1 h");
        assert_eq!(duration(Millis::days(14)), "14 d");
    }
}
