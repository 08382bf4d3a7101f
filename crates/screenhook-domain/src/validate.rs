//! Input validation shared by the commands. Each check names the field, what is wrong and
//! what is allowed.

use crate::{error::DomainError, time::Millis};

/// The shortest invitation window (1 day).
pub const MIN_EXPIRATION: Millis = Millis::days(1);
/// The longest invitation window ("6 months", taken as 183 days).
pub const MAX_EXPIRATION: Millis = Millis::days(183);
/// The default invitation window (14 days).
pub const DEFAULT_EXPIRATION: Millis = Millis::days(14);
/// Custom test durations and custom session durations: 1 minute – 24 hours \[inferred\].
pub const MIN_DURATION: Millis = Millis::MINUTE;
pub const MAX_DURATION: Millis = Millis::days(1);
/// `externalId` is at most this many characters.
pub const MAX_EXTERNAL_ID: usize = 256;
/// Titles, names and labels are at most this many characters \[inferred\].
pub const MAX_TEXT: usize = 200;

pub(crate) fn text(field: &'static str, value: &str, required: bool) -> Result<String, DomainError> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty", format!("1–{MAX_TEXT} characters")));
    }
    let len = trimmed.chars().count();
    if len > MAX_TEXT {
        return Err(DomainError::invalid(
            field,
            format!("is {len} characters long"),
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub(crate) fn labels(values: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = text("labels", v, true)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn days(d: Millis) -> String {
    format!("{} days", d.as_millis() / Millis::DAY.as_millis())
}

pub(crate) fn expiration(field: &'static str, value: Millis) -> Result<Millis, DomainError> {
    if value < MIN_EXPIRATION || value > MAX_EXPIRATION {
        return Err(DomainError::invalid(
            field,
            format!("{} ms is out of range", value.as_millis()),
            format!(
                "1 day to 6 months: {}–{} ms ({}–{})",
                MIN_EXPIRATION.as_millis(),
                MAX_EXPIRATION.as_millis(),
                days(MIN_EXPIRATION),
                days(MAX_EXPIRATION)
            ),
        ));
    }
    Ok(value)
}

pub(crate) fn duration(field: &'static str, value: Millis) -> Result<Millis, DomainError> {
    if value < MIN_DURATION || value > MAX_DURATION {
        return Err(DomainError::invalid(
            field,
            format!("{} ms is out of range", value.as_millis()),
            format!("1 minute to 24 hours: {}–{} ms", MIN_DURATION.as_millis(), MAX_DURATION.as_millis()),
        ));
    }
    Ok(value)
}

pub(crate) fn result_date_limit(value: Option<Millis>) -> Result<Option<Millis>, DomainError> {
    match value {
        Some(v) if v < Millis::DAY => Err(DomainError::invalid(
            "resultDateLimit",
            format!("{} ms is shorter than a day", v.as_millis()),
            format!("null (no limit) or at least {} ms (1 day)", Millis::DAY.as_millis()),
        )),
        other => Ok(other),
    }
}

pub(crate) fn external_id(value: Option<&str>) -> Result<Option<String>, DomainError> {
    match value {
        None => Ok(None),
        Some("") => Ok(None),
        Some(v) => {
            let len = v.chars().count();
            if len > MAX_EXTERNAL_ID {
                return Err(DomainError::invalid(
                    "externalId",
                    format!("is {len} characters long"),
                    format!("at most {MAX_EXTERNAL_ID} characters"),
                ));
            }
            Ok(Some(v.to_owned()))
        }
    }
}

/// A pragmatic address check: one `@`, a non-empty local part of printable non-space ASCII, a
/// dotted domain of letters, digits and hyphens. Returns the lower-cased address.
pub fn email(value: &str) -> Result<String, DomainError> {
    let allowed = "an address like name@example.com (at most 254 characters)";
    let bad = |problem: &str| Err(DomainError::invalid("candidateEmail", format!("{value:?} {problem}"), allowed));
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Err(DomainError::invalid("candidateEmail", "must not be empty", allowed));
    }
    if v.len() > 254 {
        return bad("is too long");
    }
    let Some((local, domain)) = v.split_once('@') else { return bad("has no '@'") };
    if local.is_empty() || local.len() > 64 {
        return bad("has an empty or too long part before '@'");
    }
    if !local.chars().all(|c| c.is_ascii_graphic() && c != '@' && c != '"' && c != ',')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return bad("has an invalid character before '@'");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
        || !domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return bad("has an invalid domain after '@'");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Jane.Doe@Example.COM ").unwrap(), "jane.doe@example.com");
        for bad in ["", "jane", "jane@", "@x.com", "jane@x", "ja ne@x.com", "jane@x..com", "jane@-x.com", "a@b@c.com"] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }
}
