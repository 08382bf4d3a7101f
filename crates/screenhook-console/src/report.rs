//! The result page, which is the Coding Report: the Assessment Score and its skill areas,
//! score / maxScore, duration, "Proctored: Yes/No", verification and its rejection reasons,
//! the integrity review, retakes and reactivations — and, for the signed-in company, the
//! session's events and where each was delivered.
//!
//! `GET /test-result/{id}?accessToken=…` is the `url` of every result payload: it opens the
//! same report read-only with no sign-in; the access token is the credential, compared in
//! constant time, and a wrong one reads exactly like an unknown result.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect},
};
use screenhook_domain::{CompanyTestSession, Permission, SessionId, SessionStatus, SkillLabel};
use screenhook_engine::{EngineError, SessionAction};
use screenhook_store::DeliveryFilter;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    form::Posted,
    view::{self, Nav, Notice},
};

/// What the report shows of a session, for both views.
pub struct Report {
    pub id: String,
    pub candidate: String,
    pub email: String,
    pub test_title: String,
    pub test_id: String,
    pub framework: Option<&'static str>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub proctored: bool,
    pub verification: &'static str,
    pub verification_class: &'static str,
    pub rejection_reasons: Vec<(String, String)>,
    /// `Yes`, `No`, `Pending`, or `N/A` (proctored sessions are verified instead).
    pub integrity: &'static str,
    pub result: Option<ResultView>,
    pub created: String,
    pub started: String,
    pub finished: String,
    pub expires: String,
    pub external_id: String,
    pub retake_of: Option<String>,
    pub retake_session: Option<String>,
    pub reactivated: Option<(String, String)>,
    /// The invitation link while the candidate can still act on it.
    pub invitation_link: Option<String>,
}

pub struct ResultView {
    pub assessment_score: Option<u32>,
    /// Where the score sits in 200–600, in percent, for the bar.
    pub assessment_percent: u32,
    pub legacy_score: Option<u32>,
    pub score: u32,
    pub max_score: u32,
    pub duration: String,
    pub skill_areas: Vec<(String, &'static str, &'static str, u32)>,
    pub shared_from: Option<String>,
    pub url: String,
}

fn label(label: SkillLabel) -> (&'static str, &'static str) {
    match label {
        SkillLabel::Expert => ("Expert", "ok"),
        SkillLabel::Advanced => ("Advanced", "info"),
        SkillLabel::Intermediate => ("Intermediate", "warn"),
        SkillLabel::Beginner => ("Beginner", ""),
    }
}

impl Report {
    fn of(console: &Console, s: &CompanyTestSession) -> Report {
        let (verification, verification_class) = view::verification(s.verification_status);
        let integrity = if s.proctored {
            "N/A"
        } else if s.status != SessionStatus::Over {
            "—"
        } else if !s.integrity.finalized {
            "Pending"
        } else {
            match s.integrity.suggested {
                Some(true) => "Yes",
                Some(false) => "No",
                None => "N/A",
            }
        };
        let result = s.result.as_ref().map(|r| ResultView {
            assessment_score: r.coding_score_2023,
            assessment_percent: r.coding_score_2023.map(|v| v.saturating_sub(200).min(400) / 4).unwrap_or(0),
            legacy_score: r.legacy_coding_score,
            score: r.score,
            max_score: r.max_score,
            duration: view::duration(r.duration),
            skill_areas: r
                .skill_areas
                .iter()
                .map(|a| {
                    let (text, class) = label(a.label);
                    (a.name.clone(), text, class, a.questions)
                })
                .collect(),
            shared_from: (r.source_session_id != s.id).then(|| r.source_session_id.to_string()),
            url: screenhook_domain::payload::report_url(console.public_url(), r),
        });
        Report {
            id: s.id.to_string(),
            candidate: s.candidate.full_name(),
            email: s.candidate.email.clone(),
            test_title: s.test_title.clone(),
            test_id: s.test_id.to_string(),
            framework: s.framework_id.as_ref().and_then(screenhook_domain::framework).map(|f| f.title),
            status: s.status.as_str(),
            status_class: view::status_class(s.status),
            proctored: s.proctored,
            verification,
            verification_class,
            rejection_reasons: s
                .verification_rejection_reasons
                .iter()
                .map(|r| (r.name.clone(), r.description.clone()))
                .collect(),
            integrity,
            result,
            created: view::when(s.create_date),
            started: view::when_opt(s.start_date),
            finished: view::when_opt(s.finish_date),
            expires: view::when(s.expiration_date),
            external_id: s.external_id.clone().unwrap_or_default(),
            retake_of: s.retake_of.as_ref().map(|id| id.to_string()),
            retake_session: s.retake_session.as_ref().map(|id| id.to_string()),
            reactivated: s
                .reactivated_session
                .as_ref()
                .map(|r| (r.new_session_id.to_string(), view::when(r.reactivation_date))),
            invitation_link: matches!(s.status, SessionStatus::Pending | SessionStatus::Active)
                .then(|| format!("{}/c/{}", console.public_url(), s.candidate_token)),
        }
    }
}

/// An event of the session and where it went.
pub struct EventView {
    pub kind: &'static str,
    pub legacy: bool,
    pub at: String,
    pub id: String,
    pub deliveries: Vec<DeliveryView>,
}

pub struct DeliveryView {
    pub webhook_id: String,
    pub url: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub attempts: u32,
    pub last: String,
}

/// The badge of a delivery's state.
pub fn delivery_state(row: &screenhook_store::DeliveryRow) -> (&'static str, &'static str) {
    use screenhook_store::DeliveryState as S;
    match row.state {
        S::Delivered => ("delivered", "ok"),
        S::Failed => ("failed", "bad"),
        S::Cancelled => ("cancelled", ""),
        S::Ready | S::Waiting if row.paused => ("paused", "warn"),
        S::Ready if row.attempts > 0 => ("retrying", "warn"),
        S::Ready | S::Waiting => ("pending", "info"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
struct SignedReport {
    nav: Nav,
    notice: Option<Notice>,
    report: Report,
    events: Vec<EventView>,
    can_manage: bool,
    can_reactivate: bool,
    can_delete: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "report_public.html")]
struct PublicReport {
    report: Report,
}

fn no_result() -> Failure {
    Failure::NotFound("There is no such result, or the link is not valid.".into())
}

async fn load(console: &Console, signed: &Signed, id: &str) -> Result<CompanyTestSession, Failure> {
    let id = SessionId::parse(id).map_err(|_| no_result())?;
    console.engine.store.session(&signed.company.id, &id).await?.ok_or_else(no_result)
}

async fn signed_page(console: &Console, signed: &Signed, s: &CompanyTestSession, notice: Option<Notice>) -> PageResult {
    let store = &console.engine.store;
    let company = &signed.company.id;
    let events = store.events_of_session(company, &s.id).await?;
    let mut events: Vec<EventView> = events
        .into_iter()
        .map(|e| EventView {
            kind: e.kind.name(),
            legacy: e.kind.is_legacy_certify(),
            at: view::when(e.triggered_on),
            id: e.id.to_string(),
            deliveries: vec![],
        })
        .collect();
    if signed.allows(Permission::Webhooks) {
        let urls: HashMap<String, String> =
            store.webhooks(company).await?.into_iter().map(|(w, _)| (w.id.to_string(), w.url)).collect();
        let filter = DeliveryFilter { session: Some(s.id.clone()), limit: 500, ..DeliveryFilter::default() };
        let mut deliveries = store.deliveries(company, &filter).await?;
        deliveries.reverse();
        for d in deliveries {
            let Some(event) = events.iter_mut().find(|e| e.id == d.event_id.as_str()) else { continue };
            let (state, state_class) = delivery_state(&d);
            event.deliveries.push(DeliveryView {
                webhook_id: d.webhook_id.to_string(),
                url: urls.get(d.webhook_id.as_str()).cloned().unwrap_or_else(|| "(deleted webhook)".into()),
                state,
                state_class,
                attempts: d.attempts,
                last: match (d.last_status, &d.last_error) {
                    (Some(status), _) => format!("HTTP {status}"),
                    (None, Some(err)) => err.clone(),
                    (None, None) => String::new(),
                },
            });
        }
    }
    let can_manage = signed.allows(Permission::Sessions);
    Ok(SignedReport {
        nav: Nav::new(signed, "results"),
        notice,
        report: Report::of(console, s),
        events,
        can_manage,
        can_reactivate: can_manage && s.status == SessionStatus::Expired && s.reactivated_session.is_none(),
        can_delete: can_manage && s.status != SessionStatus::Deleted,
    }
    .into_response())
}

/// `GET /results/{id}`.
pub async fn signed_in(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> PageResult {
    signed.require(Permission::Results)?;
    let session = load(&console, &signed, &id).await?;
    signed_page(&console, &signed, &session, None).await
}

/// `POST /results/{id}/{reactivate|delete}`.
pub async fn action(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = posted.signed;
    signed.require(Permission::Sessions)?;
    let session = load(&console, &signed, &id).await?;
    let (cmd, done) = match action.as_str() {
        "reactivate" => (SessionAction::Reactivate { expire_duration: None }, "reactivated"),
        "delete" => (SessionAction::Delete, "deleted"),
        _ => return Err(Failure::NotFound("There is no such action.".into())),
    };
    match console.engine.session_command(&signed.company.id, &session.id, cmd).await {
        Ok(outcome) => match outcome.created {
            Some(new) => Ok(Redirect::to(&format!("/results/{}", new.id)).into_response()),
            None => {
                signed_page(&console, &signed, &outcome.session, Notice::ok(format!("The invitation was {done}.")))
                    .await
            }
        },
        Err(EngineError::Refused(refused)) => {
            signed_page(&console, &signed, &session, Notice::bad(refused.to_string())).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct Token {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
}

/// `GET /test-result/{id}?accessToken=…`: the report link of result payloads.
pub async fn by_token(State(console): State<Console>, Path(id): Path<String>, Query(q): Query<Token>) -> PageResult {
    let id = SessionId::parse(id).map_err(|_| no_result())?;
    let token = q.access_token.unwrap_or_default();
    let session = console.engine.store.session_unscoped(&id).await?.ok_or_else(no_result)?;
    let genuine = session
        .result
        .as_ref()
        .is_some_and(|r| !token.is_empty() && bool::from(r.report_access_token.as_bytes().ct_eq(token.as_bytes())));
    if !genuine || session.status == SessionStatus::Deleted {
        return Err(no_result());
    }
    let mut report = Report::of(&console, &session);
    // The link is shared with people outside the company: no candidate link, no email.
    report.invitation_link = None;
    report.email = String::new();
    Ok(PublicReport { report }.into_response())
}
