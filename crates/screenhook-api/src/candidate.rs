//! The candidate's link, `{public_url}/c/{token}`: the token is the candidate's credential and
//! reaches only its own session.
//!
//! - `GET /c/{token}`: a minimal page with the Pre-Screen's title, the status and the actions.
//! - `POST /c/{token}/open | decline | share | start | submit`: JSON in, the session's status
//!   JSON out; errors as `{"error": {code, message, field?, allowed?}}` with a 4xx status.
//!
//! `submit` with no body ends the attempt: the session is `finalizing` until the assessment
//! engine records the result (`recordCompanyTestSessionResult`). Only a sandbox company's
//! candidate may submit a score (`{"score": n, …}`), which finishes the session at once, so an
//! integration can be tried without a grader; anywhere else a score is refused.
//!
//! Unknown, malformed and deleted-invitation tokens all answer the same 404.

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use screenhook_domain::{CompanyTestSession, SessionId, SessionStatus};
use screenhook_engine::SessionAction;
use screenhook_web::escape;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ApiState,
    error::{ApiError, Code},
};

fn unknown_link() -> ApiError {
    ApiError::new(Code::NotFound, "This invitation link is not valid.")
}

/// The live session behind a token (`<session id>.<secret>`, base62 around one dot); anything
/// else is not looked up.
async fn session_of(state: &ApiState, token: &str) -> Result<CompanyTestSession, ApiError> {
    if token.is_empty() || token.len() > 128 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
        return Err(unknown_link());
    }
    let session = match state.engine.session_by_candidate_token(token).await? {
        Some(s) if s.status != SessionStatus::Deleted => s,
        _ => return Err(unknown_link()),
    };
    if state.engine.company(&session.company_id).await?.disabled_at.is_some() {
        return Err(ApiError::new(Code::NotFound, "This invitation is no longer available."));
    }
    Ok(session)
}

/// What the candidate may see of their session: no score, no proctoring notes.
fn status_json(s: &CompanyTestSession) -> Value {
    json!({
        "id": s.id,
        "testTitle": s.test_title,
        "status": s.status.as_str(),
        "opened": s.opened,
        "proctored": s.proctored,
        "verificationStatus": s.verification_status.map(|v| v.as_str()),
        "expirationDate": s.expiration_date.as_millis(),
        "startDate": s.start_date.map(|t| t.as_millis()),
        "finishDate": s.finish_date.map(|t| t.as_millis()),
        "duration": s.duration.as_millis(),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShareBody {
    source_session_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitBody {
    score: u32,
    max_score: Option<u32>,
    #[serde(default)]
    area_points: Vec<u32>,
    #[serde(default)]
    integrity_suggested: bool,
}

/// `POST /c/{token}/{action}`.
pub async fn action(
    State(state): State<ApiState>,
    Path((token, action)): Path<(String, String)>,
    body: Body,
) -> Response {
    match run(&state, &token, &action, body).await {
        Ok(session) => (StatusCode::OK, Json(status_json(&session))).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn run(state: &ApiState, token: &str, action: &str, body: Body) -> Result<CompanyTestSession, ApiError> {
    let session = session_of(state, token).await?;
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes).await.map_err(|_| {
        ApiError::new(Code::PayloadTooLarge, format!("the body is larger than {} bytes", state.config.max_body_bytes))
    })?;
    let json = |bytes: &[u8]| -> Result<Value, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        serde_json::from_slice(bytes)
            .map_err(|err| ApiError::new(Code::BadRequest, format!("the body is not valid JSON: {err}")))
    };
    let parse = |field: &str, value: Value| -> Result<Value, ApiError> {
        if value.is_object() { Ok(value) } else { Err(ApiError::invalid(field, "must be a JSON object", "{...}")) }
    };
    let cmd = match action {
        "open" => SessionAction::Open,
        "decline" => SessionAction::Decline,
        "start" => SessionAction::Start,
        "share" => {
            let body: ShareBody = serde_json::from_value(parse("body", json(&bytes)?)?)
                .map_err(|err| ApiError::invalid("body", err, "{\"sourceSessionId\": \"<id>\"} or nothing"))?;
            let source = body
                .source_session_id
                .map(|id| SessionId::parse(id).map_err(|err| ApiError::bad_id("sourceSessionId", err)))
                .transpose()?;
            SessionAction::ShareResult { source }
        }
        "submit" => {
            let body = parse("body", json(&bytes)?)?;
            if body.as_object().is_some_and(|fields| fields.is_empty()) {
                return Ok(state
                    .engine
                    .session_command(&session.company_id, &session.id, SessionAction::EndAttempt)
                    .await?
                    .session);
            }
            let body: SubmitBody = serde_json::from_value(body).map_err(|err| {
                ApiError::invalid(
                    "body",
                    err,
                    "nothing (end the attempt), or in a sandbox {\"score\": n, \"maxScore\"?: n, \"areaPoints\"?: [n], \"integritySuggested\"?: bool}",
                )
            })?;
            SessionAction::Submit {
                score: body.score,
                max_score: body.max_score,
                area_points: body.area_points,
                integrity_suggested: body.integrity_suggested,
            }
        }
        _ => return Err(ApiError::new(Code::NotFound, "no such action; use open, decline, share, start or submit")),
    };
    let outcome = state.engine.session_command(&session.company_id, &session.id, cmd).await?;
    Ok(outcome.session)
}

/// What ends the attempt. Outside a sandbox, one button: the grader scores the answers. In a
/// sandbox, also a form choosing the score, to try an integration without a grader. A
/// Certified Evaluation's maximum is its framework's; a custom Pre-Screen's is given here.
fn submit_form(session: &CompanyTestSession, sandbox: bool) -> String {
    let end = r#"<button data-action="submit">Submit my answers</button>"#;
    if !sandbox {
        return format!(r#"<div class="row">{end}</div>"#);
    }
    let max = match session.framework_id.as_ref().and_then(screenhook_domain::framework) {
        Some(framework) => format!(
            r#"<p class="muted small">Out of {max} points ({title}).</p>"#,
            max = framework.max_raw_score,
            title = escape(framework.title)
        ),
        None => r#"<label><span>Out of (max score)</span><input name="maxScore" type="number" min="1" value="100" required></label>"#
            .to_owned(),
    };
    format!(
        r#"<p class="notice info">Sandbox: choose the score this attempt gets, or submit without one and record it as the grader would (<code>recordCompanyTestSessionResult</code>).</p>
<form id="submit" class="stack"><label><span>Score</span><input name="score" type="number" min="0" required></label>
{max}<button type="submit">Submit with this score</button></form>
<div class="row">{end}</div>"#
    )
}

/// `GET /c/{token}`.
pub async fn page(State(state): State<ApiState>, Path(token): Path<String>) -> Response {
    let session = match session_of(&state, &token).await {
        Ok(s) => s,
        Err(err) => return screenhook_web::error_page(err.code.status(), "Invitation not found", &err.message),
    };
    let sandbox = match state.engine.company(&session.company_id).await {
        Ok(company) => company.sandbox,
        Err(err) => {
            let err = ApiError::from(err);
            return screenhook_web::error_page(err.code.status(), "Invitation not found", &err.message);
        }
    };
    let title = escape(&session.test_title);
    let name = escape(&session.candidate.full_name());
    let status = session.status.as_str();
    let actions = match session.status {
        SessionStatus::Pending => {
            let share = if session.framework_id.is_some() {
                r#"<button class="secondary" data-action="share">Share my existing verified result</button>"#
            } else {
                ""
            };
            format!(
                r#"<div class="row"><button data-action="start">Start</button> {share} <button class="danger" data-action="decline">Decline</button></div>"#
            )
        }
        SessionStatus::Active => submit_form(&session, sandbox),
        SessionStatus::Finalizing => {
            "<p>Your answers are submitted. Your result is being finalized; there is nothing left to do.</p>".to_owned()
        }
        _ => "<p>There is nothing left to do on this invitation.</p>".to_owned(),
    };
    // The script opens the invitation once when first shown (the `open` action is idempotent
    // from the candidate's side) and posts the buttons' actions as JSON.
    let open = session.status == SessionStatus::Pending && !session.opened;
    let proctored = if session.proctored {
        r#"<p class="notice info">This assessment is proctored: your ID, camera, microphone and screen are recorded, and the result is verified by the proctoring team.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<h1>{title}</h1>
<p>Hello {name}. Status: <strong id="status">{status}</strong></p>
{proctored}
<div id="candidate" data-open="{open}">{actions}</div>
<p id="message" role="status" class="bad"></p>"#
    );
    Html(screenhook_web::standalone(&session.test_title, &body, &["/assets/candidate.js"])).into_response()
}
