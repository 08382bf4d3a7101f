//! A posted form, read as its name–value pairs (checkbox groups repeat a name, which serde's
//! urlencoded structs cannot express), and accepted only with the session's CSRF token.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    response::{IntoResponse, Response},
};

use crate::{Console, Failure, auth::Signed};

/// The largest form the console accepts.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A form's fields in order.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, v)| n == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A form posted by a signed-in person, its CSRF token checked.
pub struct Posted {
    pub signed: Signed,
    pub fields: Fields,
}

impl FromRequest<Console> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, console).await?;
        let body = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            Failure::BadRequest(format!("The form is larger than {MAX_FORM_BYTES} bytes.")).into_response()
        })?;
        let fields = Fields::parse(&body);
        match fields.get("_csrf") {
            Some(token) if signed.check_csrf(token) => Ok(Posted { signed, fields }),
            _ => Err(Failure::Csrf.into_response()),
        }
    }
}

/// A form posted without a session (sign-in), its body read.
pub struct Unsigned(pub Fields);

impl FromRequest<Console> for Unsigned {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, console)
            .await
            .map_err(|_| Failure::BadRequest("The form could not be read.".into()).into_response())?;
        Ok(Unsigned(Fields::parse(&body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_and_blanks() {
        let f = Fields::parse(b"events=a&events=b&events=+&title=+Hi+&empty=");
        assert_eq!(f.all("events"), ["a", "b"]);
        assert_eq!(f.get("title"), Some("Hi"));
        assert_eq!(f.get("empty"), None);
        assert!(!f.checked("missing"));
    }
}
