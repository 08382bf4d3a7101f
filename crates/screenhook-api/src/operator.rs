//! The operator API: the installation's companies over HTTP, for whoever runs screenhook — not
//! for a company, so no company key opens it. The credential is `operator.token` from the
//! configuration, sent as `Authorization: Bearer <token>`; with no token configured every route
//! answers 404, as if it did not exist.
//!
//! - `GET /operator/v1/companies` — every company, oldest first (then by id).
//! - `POST /operator/v1/companies` `{"id", "name", "sandbox"}` — creates one with its first admin
//!   key (every permission), which is in this answer (201) and nowhere else.
//! - `GET /operator/v1/companies/{id}` — one company.
//! - `PATCH /operator/v1/companies/{id}` `{"name"?, "disabled"?}` — renames, disables (its keys,
//!   console sessions and candidate links are refused from then on) or enables it again.
//!
//! Companies are `{id, name, sandbox, createDate, disabledDate}` (dates in ms, `null` when not
//! disabled). Errors are `{"error": {code, message, field?, allowed?}}`, as on the candidate
//! link, and change nothing. Every change is logged at `info` (target `screenhook::operator`).
//! The same operations are `screenhook companies …` on the command line.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use screenhook_domain::{Company, CompanyId};
use screenhook_engine::companies::{self, CompanyChange, CompanyError};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    ApiState,
    error::{ApiError, Code},
};

/// The operator's credential; `Debug` never shows it.
#[derive(Clone)]
pub struct OperatorToken(String);

impl OperatorToken {
    pub fn new(token: impl Into<String>) -> OperatorToken {
        OperatorToken(token.into())
    }
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(<redacted>)")
    }
}

const ID_ALLOWED: &str = "1–64 characters of letters, digits, '-' and '_', not used by another company";

/// Checks the operator token in constant time (over digests, so its length does not leak).
fn authorize(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(OperatorToken(expected)) = &state.config.operator_token else {
        return Err(ApiError::new(Code::NotFound, "no such route"));
    };
    let given = crate::http::bearer_token(headers).unwrap_or_default();
    let matches: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
    if given.is_empty() || !matches {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "Unauthenticated: send the operator token (operator.token) as 'Authorization: Bearer <token>'",
        ));
    }
    Ok(())
}

fn company_json(company: &Company) -> Value {
    json!({
        "id": company.id,
        "name": company.name,
        "sandbox": company.sandbox,
        "createDate": company.created_at.as_millis(),
        "disabledDate": company.disabled_at.map(|t| t.as_millis()),
    })
}

fn company_id(raw: &str) -> Result<CompanyId, ApiError> {
    CompanyId::parse(raw).map_err(|err| ApiError::invalid("id", err, ID_ALLOWED))
}

fn from_company_error(err: CompanyError) -> ApiError {
    match err {
        CompanyError::Invalid { field, problem } => {
            ApiError::invalid(field, problem, format!("1 to {} characters", companies::MAX_NAME_CHARS))
        }
        CompanyError::Exists(id) => ApiError::invalid("id", format!("{id} is taken"), ID_ALLOWED),
        CompanyError::Unknown(id) => ApiError::not_found("company", id.as_str()),
        CompanyError::Store(err) => err.into(),
    }
}

/// A JSON body, or a `BAD_REQUEST` that says what is wrong with it.
fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| ApiError::new(Code::BadRequest, format!("the JSON body: {err}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCompany {
    id: String,
    name: String,
    /// A sandbox's clock can be advanced and its candidates may choose their score.
    #[serde(default)]
    sandbox: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanyPatch {
    name: Option<String>,
    disabled: Option<bool>,
}

pub async fn list(State(state): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let all = state.engine.store.companies().await?;
    Ok(Json(json!({ "companies": all.iter().map(company_json).collect::<Vec<_>>() })))
}

pub async fn create(State(state): State<ApiState>, headers: HeaderMap, bytes: Bytes) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let input: NewCompany = body(&bytes)?;
    let id = company_id(&input.id)?;
    let now = state.engine.clock.now();
    let (company, key) = companies::create(&*state.engine.store, &id, &input.name, input.sandbox, now)
        .await
        .map_err(from_company_error)?;
    tracing::info!(target: "screenhook::operator", company = %company.id, sandbox = company.sandbox, "company created");
    let answer = json!({ "company": company_json(&company), "adminKey": key.token });
    // The key is in this answer and nowhere else: no cache along the way may keep a copy.
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    Ok((StatusCode::CREATED, no_store, Json(answer)).into_response())
}

pub async fn show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = company_id(&id)?;
    let company = state.engine.store.company(&id).await?.ok_or_else(|| ApiError::not_found("company", id.as_str()))?;
    Ok(Json(company_json(&company)))
}

/// Applies the changes (name, then state) in one write, after validating all of them.
pub async fn update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let id = company_id(&id)?;
    let patch: CompanyPatch = body(&bytes)?;
    let mut changes = Vec::new();
    changes.extend(patch.name.map(CompanyChange::Rename));
    changes.extend(patch.disabled.map(|off| if off { CompanyChange::Disable } else { CompanyChange::Enable }));
    if changes.is_empty() {
        return Err(ApiError::new(
            Code::BadRequest,
            "the JSON body: nothing to change; send \"name\" and/or \"disabled\"",
        ));
    }
    let company = companies::change(&*state.engine.store, &id, &changes, state.engine.clock.now())
        .await
        .map_err(from_company_error)?;
    state.engine.forget_company(&id);
    for change in &changes {
        let what = match change {
            CompanyChange::Rename(_) => "company renamed",
            CompanyChange::Disable => "company disabled",
            CompanyChange::Enable => "company enabled",
        };
        tracing::info!(target: "screenhook::operator", company = %company.id, "{what}");
    }
    Ok(Json(company_json(&company)))
}
