//! Errors as clients see them: a stable `code`, a message saying what was wrong, and for bad
//! input the `field` and what is `allowed`.
//!
//! GraphQL errors carry them in `extensions`; the candidate link answers
//! `{"error": {code, message, field?, allowed?}}` with the code's HTTP status.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use screenhook_delivery::ManageError;
use screenhook_domain::{DomainError, IdError, Permission};
use screenhook_engine::EngineError;
use screenhook_store::StoreError;
use serde_json::{Value, json};

/// The stable error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Missing, malformed, unknown or revoked credential (all alike).
    Unauthenticated,
    /// The key lacks the permission the operation needs.
    AccessDenied,
    /// No such object for this company (other companies' objects included).
    NotFound,
    /// An argument or input field is invalid.
    BadUserInput,
    /// The object's state does not allow the command (e.g. starting an expired invitation).
    IllegalState,
    /// The object kept changing concurrently; retrying may succeed.
    Conflict,
    /// A webhook's endpoint did not answer the verification ping with 200 within 10 s, so
    /// nothing was saved; the message says what it did instead.
    WebhookVerificationFailed,
    /// A sandbox-only operation (`advanceSandboxClock`, `sandboxClock`) on another company.
    NotASandbox,
    RateLimited,
    QueryTooDeep,
    QueryTooComplex,
    /// The query does not parse or does not match the schema (unknown field, wrong variable type).
    GraphqlValidationFailed,
    /// The HTTP request itself is malformed: not JSON, not an operation, too many operations.
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::AccessDenied => "ACCESS_DENIED",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::IllegalState => "ILLEGAL_STATE",
            Code::Conflict => "CONFLICT",
            Code::WebhookVerificationFailed => "WEBHOOK_VERIFICATION_FAILED",
            Code::NotASandbox => "NOT_A_SANDBOX",
            Code::RateLimited => "RATE_LIMITED",
            Code::QueryTooDeep => "QUERY_TOO_DEEP",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::BadRequest => "BAD_REQUEST",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Code::Internal => "INTERNAL",
        }
    }

    /// The HTTP status when the error is the whole answer (transport errors, candidate link).
    pub fn status(self) -> StatusCode {
        match self {
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::AccessDenied => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::BadUserInput | Code::WebhookVerificationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Code::IllegalState | Code::Conflict | Code::NotASandbox => StatusCode::CONFLICT,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::QueryTooDeep | Code::QueryTooComplex | Code::GraphqlValidationFailed | Code::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    pub allowed: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), field: None, allowed: None }
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            Code::Unauthenticated,
            "Unauthenticated: send a valid, unrevoked API key as 'Authorization: Bearer <key>'",
        )
    }

    pub fn access_denied(permission: Permission) -> ApiError {
        ApiError::new(
            Code::AccessDenied,
            format!("Access Denied: this API key lacks the '{}' permission", permission.as_str()),
        )
    }

    /// The one message for "absent" and "another company's": callers cannot tell them apart.
    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(Code::NotFound, format!("{what} {id} was not found"))
    }

    pub fn invalid(field: &str, problem: impl std::fmt::Display, allowed: impl Into<String>) -> ApiError {
        ApiError {
            code: Code::BadUserInput,
            message: format!("{field}: {problem}"),
            field: Some(field.to_owned()),
            allowed: Some(allowed.into()),
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(Code::Internal, "Internal error; it has been logged, and retrying later may help")
    }

    /// An id argument that is not even shaped like an id.
    pub fn bad_id(field: &str, err: IdError) -> ApiError {
        ApiError::invalid(field, err, "1–64 characters of letters, digits, '-' and '_'")
    }

    /// `{"code", "message", "field"?, "allowed"?}`.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        if let Some(allowed) = &self.allowed {
            body["allowed"] = json!(allowed);
        }
        body
    }

    /// A GraphQL `errors[]` entry, for answers produced outside the executor.
    pub fn graphql_error(&self) -> Value {
        let mut extensions = self.body();
        let message = extensions.as_object_mut().and_then(|m| m.remove("message")).unwrap_or_default();
        json!({ "message": message, "extensions": extensions })
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict { .. } => ApiError::new(Code::Conflict, format!("{err}; retry the request")),
            other => {
                tracing::error!(err = %other, "store error in the API");
                ApiError::internal()
            }
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> ApiError {
        match err {
            DomainError::Invalid { field, problem, allowed } => ApiError::invalid(field, problem, allowed),
            DomainError::NotFound { aggregate, .. } => {
                ApiError::new(Code::NotFound, format!("{aggregate} was not found"))
            }
            DomainError::TimerNotDue { .. } => {
                tracing::error!(%err, "a clock refusal reached the API");
                ApiError::internal()
            }
            other @ (DomainError::IllegalTransition { .. }
            | DomainError::AlreadyExists { .. }
            | DomainError::Cooldown { .. }
            | DomainError::TooLate { .. }) => ApiError::new(Code::IllegalState, other.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> ApiError {
        match err {
            EngineError::Refused(domain) => domain.into(),
            EngineError::NotFound { what, id } => ApiError::not_found(what, &id),
            EngineError::Contended(_) => {
                ApiError::new(Code::Conflict, "the object kept changing concurrently; nothing was written, retry")
            }
            EngineError::Store(store) => store.into(),
        }
    }
}

impl From<ManageError> for ApiError {
    fn from(err: ManageError) -> ApiError {
        match err {
            ManageError::Invalid { field, problem, allowed } => ApiError::invalid(field, problem, allowed),
            ManageError::NotFound { what, id } => ApiError::not_found(what, &id),
            ping @ ManageError::Ping(_) => ApiError::new(Code::WebhookVerificationFailed, ping.to_string()),
            ManageError::Store(store) => store.into(),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> async_graphql::Error {
        let mut out = async_graphql::Error::new(err.message);
        let ext = out.extensions.get_or_insert_with(Default::default);
        ext.set("code", err.code.as_str());
        if let Some(field) = err.field {
            ext.set("field", field);
        }
        if let Some(allowed) = err.allowed {
            ext.set("allowed", allowed);
        }
        out
    }
}

/// Candidate-link answers: the code's status and `{"error": {...}}`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), Json(json!({ "error": self.body() }))).into_response()
    }
}
