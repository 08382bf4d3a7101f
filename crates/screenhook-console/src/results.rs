//! Results: every invitation of the company, or of one Pre-Screen, newest first, filterable by
//! status and paginated.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::IntoResponse,
};
use screenhook_domain::{CompanyTestSession, Permission, SessionStatus, TestId};
use screenhook_store::{Page, SessionFilter};
use serde::Deserialize;

use crate::{
    Console, PageResult,
    auth::Signed,
    view::{self, Nav, Notice},
};

/// Results per page.
const PAGE_SIZE: u32 = 25;

/// A session as a row of a results table.
pub struct SessionRow {
    pub id: String,
    pub candidate: String,
    pub email: String,
    pub test_title: String,
    pub proctored: bool,
    pub status: &'static str,
    pub status_class: &'static str,
    pub verification: &'static str,
    pub verification_class: &'static str,
    /// The Assessment Score when there is one, else score / maxScore, else a dash.
    pub score: String,
    pub created: String,
    pub finished: String,
}

impl SessionRow {
    pub fn of(s: &CompanyTestSession) -> SessionRow {
        let (verification, verification_class) = view::verification(s.verification_status);
        let score = match &s.result {
            Some(r) => match r.coding_score_2023 {
                Some(score) => format!("{score} ({}/{})", r.score, r.max_score),
                None => format!("{}/{}", r.score, r.max_score),
            },
            None => "—".to_owned(),
        };
        SessionRow {
            id: s.id.to_string(),
            candidate: s.candidate.full_name(),
            email: s.candidate.email.clone(),
            test_title: s.test_title.clone(),
            proctored: s.proctored,
            status: s.status.as_str(),
            status_class: view::status_class(s.status),
            verification,
            verification_class,
            score,
            created: view::when(s.create_date),
            finished: view::when_opt(s.finish_date),
        }
    }
}

/// A status filter link.
pub struct Filter {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "results.html")]
struct ResultsPage {
    nav: Nav,
    notice: Option<Notice>,
    heading: String,
    filters: Vec<Filter>,
    results: Vec<SessionRow>,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    status: Option<String>,
    test: Option<String>,
    page: Option<u32>,
}

const STATUSES: [SessionStatus; 8] = [
    SessionStatus::Pending,
    SessionStatus::Active,
    SessionStatus::Finalizing,
    SessionStatus::Over,
    SessionStatus::Expired,
    SessionStatus::Declined,
    SessionStatus::Archived,
    SessionStatus::Deleted,
];

/// `GET /results[?status=…&test=…&page=n]`.
pub async fn list(State(console): State<Console>, signed: Signed, Query(q): Query<ResultsQuery>) -> PageResult {
    signed.require(Permission::Results)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(STATUSES.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            crate::Failure::BadRequest(format!(
                "status: “{raw}” is not a session status (allowed: {})",
                STATUSES.map(|s| s.as_str()).join(", ")
            ))
        })?),
    };
    let test = match q.test.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => {
            let id = TestId::parse(raw).map_err(|_| crate::Failure::NotFound("There is no such Pre-Screen.".into()))?;
            let test = console
                .engine
                .store
                .test(&signed.company.id, &id)
                .await?
                .ok_or_else(|| crate::Failure::NotFound("There is no such Pre-Screen.".into()))?;
            Some(test)
        }
    };
    let page = q.page.unwrap_or(1).max(1);
    let filter = SessionFilter { test: test.as_ref().map(|t| t.id.clone()), status, verification: None };
    // One more than a page tells whether a next page exists.
    let mut sessions = console
        .engine
        .store
        .company_sessions(&signed.company.id, &filter, Page { first: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE })
        .await?;
    let more = sessions.len() > PAGE_SIZE as usize;
    sessions.truncate(PAGE_SIZE as usize);

    let link = |status: Option<SessionStatus>, page: u32| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(t) = &test {
            query.append_pair("test", t.id.as_str());
        }
        if let Some(s) = status {
            query.append_pair("status", s.as_str());
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() { "/results".to_owned() } else { format!("/results?{query}") }
    };
    let mut filters = vec![Filter { label: "All", href: link(None, 1), current: status.is_none() }];
    filters.extend(STATUSES.into_iter().map(|s| Filter {
        label: s.as_str(),
        href: link(Some(s), 1),
        current: status == Some(s),
    }));
    Ok(ResultsPage {
        nav: Nav::new(&signed, "results"),
        notice: None,
        heading: match &test {
            Some(t) => format!("Results of {}", t.title),
            None => "Results".to_owned(),
        },
        filters,
        results: sessions.iter().map(SessionRow::of).collect(),
        page,
        previous: (page > 1).then(|| link(status, page - 1)),
        next: more.then(|| link(status, page + 1)),
    }
    .into_response())
}
