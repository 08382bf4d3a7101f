//! Pre-Screens: the list, creating (custom or from a framework), editing, archiving,
//! unarchiving and deleting, and inviting candidates — yourself in one click.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect},
};
use screenhook_domain::{
    CompanyTest, FrameworkId, Integrations, Millis, Permission, SessionId, SessionStatus, TestCommand, TestId,
    TestStatus, catalogue,
    test::{NewFrameworkTest, NewTest, TestEdit},
};
use screenhook_engine::{EngineError, InviteInput};
use screenhook_store::{Page, SessionFilter};
use serde::Deserialize;

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    form::{Fields, Posted},
    results::SessionRow,
    view::{self, Nav, Notice},
};

/// A Pre-Screen as its list row and page show it.
pub struct TestRow {
    pub id: String,
    pub title: String,
    pub external_title: String,
    pub description: String,
    /// The framework's title for a Certified Evaluation.
    pub framework: Option<&'static str>,
    pub proctored: bool,
    pub status: &'static str,
    pub duration: String,
    pub expiration_days: i64,
    pub created: String,
}

impl TestRow {
    fn of(test: &CompanyTest) -> TestRow {
        TestRow {
            id: test.id.to_string(),
            title: test.title.clone(),
            external_title: test.external_title.clone(),
            description: test.internal_description.clone().unwrap_or_default(),
            framework: test.framework_id.as_ref().and_then(screenhook_domain::framework).map(|f| f.title),
            proctored: test.proctored,
            status: test.status.as_str(),
            duration: view::duration(test.duration),
            expiration_days: test.default_expiration.as_millis() / Millis::DAY.as_millis(),
            created: view::when(test.create_date),
        }
    }

    pub fn status_class(&self) -> &'static str {
        match self.status {
            "active" => "ok",
            "archived" => "warn",
            _ => "",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "prescreens.html")]
struct ListPage {
    nav: Nav,
    notice: Option<Notice>,
    tests: Vec<TestRow>,
    archived: usize,
    show_archived: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    archived: Option<String>,
}

/// `GET /prescreens`.
pub async fn list(State(console): State<Console>, signed: Signed, Query(q): Query<ListQuery>) -> PageResult {
    signed.require(Permission::Tests)?;
    let tests = console.engine.store.tests(&signed.company.id).await?;
    let show_archived = q.archived.is_some();
    let archived = tests.iter().filter(|t| t.status == TestStatus::Archived).count();
    let tests = tests.iter().filter(|t| show_archived || t.status == TestStatus::Active).map(TestRow::of).collect();
    Ok(ListPage { nav: Nav::new(&signed, "prescreens"), notice: None, tests, archived, show_archived }.into_response())
}

/// A framework the new-Pre-Screen form offers.
pub struct FrameworkOption {
    pub id: &'static str,
    pub title: &'static str,
    pub duration: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "prescreen_new.html")]
struct NewPage {
    nav: Nav,
    notice: Option<Notice>,
    frameworks: Vec<FrameworkOption>,
    /// What was typed, when the form comes back with an error.
    fields: Fields,
}

impl NewPage {
    fn value(&self, name: &str) -> String {
        self.fields.get(name).unwrap_or_default().to_owned()
    }

    fn picked(&self, framework: &str) -> bool {
        self.fields.get("framework") == Some(framework)
    }
}

fn frameworks() -> Vec<FrameworkOption> {
    catalogue()
        .iter()
        .map(|f| FrameworkOption { id: f.id, title: f.title, duration: view::duration(f.duration) })
        .collect()
}

/// `GET /prescreens/new`.
pub async fn new_form(signed: Signed) -> PageResult {
    signed.require(Permission::Tests)?;
    Ok(NewPage {
        nav: Nav::new(&signed, "prescreens"),
        notice: None,
        frameworks: frameworks(),
        fields: Fields::default(),
    }
    .into_response())
}

/// A whole number of days typed in a form, as a duration.
fn days(fields: &Fields, name: &'static str) -> Result<Option<Millis>, String> {
    match fields.get(name) {
        None => Ok(None),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(Millis::days(n))),
            _ => Err(format!("{name}: “{raw}” is not a whole number of days (allowed: 1 to 183)")),
        },
    }
}

/// `POST /prescreens`: a custom Pre-Screen, or a Certified Evaluation when a framework is picked.
pub async fn create(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Tests)?;
    let again = |fields: Fields, message: String| {
        NewPage { nav: Nav::new(&signed, "prescreens"), notice: Notice::bad(message), frameworks: frameworks(), fields }
            .into_response()
    };
    let expiration = match days(&fields, "expirationDays") {
        Ok(d) => d,
        Err(message) => return Ok(again(fields, message)),
    };
    let title = fields.get("title").unwrap_or_default().to_owned();
    let external_title = fields.get("externalTitle").unwrap_or(&title).to_owned();
    let description = fields.get("description").map(str::to_owned);
    let proctored = fields.checked("proctored");
    let placeholder = TestId::parse("new").expect("a valid id");
    let cmd = match fields.get("framework").filter(|f| *f != "custom") {
        Some(framework) => {
            let framework_id = match FrameworkId::parse(framework) {
                Ok(id) => id,
                Err(_) => return Ok(again(fields, "framework: not a known framework".into())),
            };
            TestCommand::CreateFromFramework(NewFrameworkTest {
                id: placeholder,
                company_id: signed.company.id.clone(),
                framework_id,
                title,
                external_title,
                internal_description: description,
                proctored,
                default_expiration: expiration,
                result_date_limit: None,
                labels: vec![],
            })
        }
        None => {
            let minutes = fields.get("durationMinutes").unwrap_or("60").to_owned();
            let Ok(minutes) = minutes.parse::<i64>() else {
                return Ok(again(
                    fields,
                    format!("durationMinutes: “{minutes}” is not a whole number (allowed: 1 to 1440)"),
                ));
            };
            TestCommand::Create(NewTest {
                id: placeholder,
                company_id: signed.company.id.clone(),
                title,
                external_title,
                internal_description: description,
                proctored,
                duration: Millis::minutes(minutes),
                default_expiration: expiration,
                labels: vec![],
            })
        }
    };
    match console.engine.create_test(&signed.company.id, cmd).await {
        Ok((test, _)) => Ok(Redirect::to(&format!("/prescreens/{}?created=1", test.id)).into_response()),
        Err(EngineError::Refused(refused)) => Ok(again(fields, refused.to_string())),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "prescreen.html")]
struct ShowPage {
    nav: Nav,
    notice: Option<Notice>,
    test: TestRow,
    editable: bool,
    can_invite: bool,
    /// The invitation just created, with its link.
    invited: Option<Invited>,
    results: Vec<SessionRow>,
    can_read_results: bool,
}

pub struct Invited {
    pub candidate: String,
    pub link: Option<String>,
    pub status: &'static str,
    pub session: String,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    created: Option<String>,
    invited: Option<String>,
    done: Option<String>,
}

async fn load(console: &Console, signed: &Signed, id: &str) -> Result<CompanyTest, Failure> {
    let id = TestId::parse(id).map_err(|_| Failure::NotFound("There is no such Pre-Screen.".into()))?;
    console
        .engine
        .store
        .test(&signed.company.id, &id)
        .await?
        .filter(|t| t.status != TestStatus::Deleted)
        .ok_or_else(|| Failure::NotFound("There is no such Pre-Screen.".into()))
}

async fn show_page(
    console: &Console,
    signed: &Signed,
    test: &CompanyTest,
    notice: Option<Notice>,
    invited: Option<Invited>,
) -> PageResult {
    let can_read_results = signed.allows(Permission::Results);
    let results = if can_read_results {
        let filter = SessionFilter { test: Some(test.id.clone()), ..SessionFilter::default() };
        let sessions =
            console.engine.store.company_sessions(&signed.company.id, &filter, Page { first: 10, offset: 0 }).await?;
        sessions.iter().map(SessionRow::of).collect()
    } else {
        vec![]
    };
    Ok(ShowPage {
        nav: Nav::new(signed, "prescreens"),
        notice,
        test: TestRow::of(test),
        editable: test.status == TestStatus::Active,
        can_invite: signed.allows(Permission::Sessions) && test.status == TestStatus::Active,
        invited,
        results,
        can_read_results,
    }
    .into_response())
}

/// `GET /prescreens/{id}`.
pub async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    signed.require(Permission::Tests)?;
    let test = load(&console, &signed, &id).await?;
    let mut notice = None;
    if q.created.is_some() {
        notice = Notice::ok("The Pre-Screen was created.");
    }
    if let Some(done) = q.done.as_deref() {
        notice = Notice::ok(format!("The Pre-Screen was {done}."));
    }
    let mut invited = None;
    if let Some(session) = q.invited.as_deref().and_then(|s| SessionId::parse(s).ok())
        && let Some(s) = console.engine.store.session(&signed.company.id, &session).await?
    {
        let link = matches!(s.status, SessionStatus::Pending | SessionStatus::Active)
            .then(|| format!("{}/c/{}", console.public_url(), s.candidate_token));
        invited = Some(Invited {
            candidate: format!("{} <{}>", s.candidate.full_name(), s.candidate.email),
            link,
            status: s.status.as_str(),
            session: s.id.to_string(),
        });
    }
    show_page(&console, &signed, &test, notice, invited).await
}

/// `POST /prescreens/{id}`: edit.
pub async fn edit(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Tests)?;
    let test = load(&console, &signed, &id).await?;
    let default_expiration = match days(&fields, "expirationDays") {
        Ok(d) => d,
        Err(message) => return show_page(&console, &signed, &test, Notice::bad(message), None).await,
    };
    let edit = TestEdit {
        title: Some(fields.get("title").unwrap_or_default().to_owned()),
        external_title: Some(fields.get("externalTitle").unwrap_or_default().to_owned()),
        internal_description: Some(fields.get("description").map(str::to_owned)),
        proctored: Some(fields.checked("proctored")),
        default_expiration,
        ..TestEdit::default()
    };
    match console.engine.test_command(&signed.company.id, &test.id, TestCommand::Edit(edit)).await {
        Ok((test, _)) => show_page(&console, &signed, &test, Notice::ok("Saved."), None).await,
        Err(EngineError::Refused(refused)) => {
            show_page(&console, &signed, &test, Notice::bad(refused.to_string()), None).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /prescreens/{id}/{archive|unarchive|delete}`.
pub async fn status_action(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = posted.signed;
    signed.require(Permission::Tests)?;
    let test = load(&console, &signed, &id).await?;
    let (cmd, done) = match action.as_str() {
        "archive" => (TestCommand::Archive, "archived"),
        "unarchive" => (TestCommand::Unarchive, "unarchived"),
        "delete" => (TestCommand::Delete, "deleted"),
        _ => return Err(Failure::NotFound("There is no such action.".into())),
    };
    match console.engine.test_command(&signed.company.id, &test.id, cmd).await {
        Ok(_) if done == "deleted" => Ok(Redirect::to("/prescreens").into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/prescreens/{}?done={done}", test.id)).into_response()),
        Err(EngineError::Refused(refused)) => {
            show_page(&console, &signed, &test, Notice::bad(refused.to_string()), None).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn invite_with(console: &Console, signed: &Signed, test: &CompanyTest, input: InviteInput) -> PageResult {
    match console.engine.invite(&signed.company.id, input).await {
        Ok(outcome) => {
            Ok(Redirect::to(&format!("/prescreens/{}?invited={}", test.id, outcome.session.id)).into_response())
        }
        Err(EngineError::Refused(refused)) => {
            show_page(console, signed, test, Notice::bad(refused.to_string()), None).await
        }
        Err(other) => Err(other.into()),
    }
}

fn invite_input(test: &CompanyTest, first: &str, last: &str, email: &str) -> InviteInput {
    InviteInput {
        test_id: test.id.clone(),
        candidate_first_name: first.to_owned(),
        candidate_last_name: last.to_owned(),
        candidate_email: email.to_owned(),
        external_id: None,
        expire_duration: None,
        custom_duration: None,
        integrations: Integrations::default(),
        prefer_existing: false,
    }
}

/// `POST /prescreens/{id}/invite`.
pub async fn invite(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Sessions)?;
    let test = load(&console, &signed, &id).await?;
    let mut input = invite_input(
        &test,
        fields.get("firstName").unwrap_or_default(),
        fields.get("lastName").unwrap_or_default(),
        fields.get("email").unwrap_or_default(),
    );
    input.external_id = fields.get("externalId").map(str::to_owned);
    match days(&fields, "expirationDays") {
        Ok(d) => input.expire_duration = d,
        Err(message) => return show_page(&console, &signed, &test, Notice::bad(message), None).await,
    }
    invite_with(&console, &signed, &test, input).await
}

/// `POST /prescreens/{id}/invite-yourself`: one click, a fresh address each time (a
/// plus-address of the reserved `example.com`), so framework cooldowns never refuse a rehearsal.
pub async fn invite_yourself(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let signed = posted.signed;
    signed.require(Permission::Sessions)?;
    let test = load(&console, &signed, &id).await?;
    let email = format!("you+{}@example.com", screenhook_store::random_id("", 8).to_ascii_lowercase());
    invite_with(&console, &signed, &test, invite_input(&test, "You", "(console)", &email)).await
}
