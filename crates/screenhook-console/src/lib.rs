//! The company console: the pages a person uses, served by the same binary as the API.
//!
//! It follows the journey of CodeSignal's Certify transition guide — Results → the Coding
//! Report ("Proctored: Yes"), Integrations → Webhooks, invite yourself, begin as the candidate,
//! watch the notification arrive — over the same engine, store and webhook manager as the
//! GraphQL API, so a page and an API call can never disagree. Pages are rendered on the server
//! (askama templates in `templates/`, which escape every value), work without JavaScript, and
//! use a little script from `/assets/console.js` for confirmations, copy buttons, event presets
//! and the live simulator feed. Nothing loads from another origin.
//!
//! # Layout
//! - [`auth`]: sign-in with an API key, the session cookie, CSRF tokens.
//! - [`form`]: the urlencoded body of a form, checked against its CSRF token.
//! - [`view`]: formatting shared by the pages (dates, durations, badges) and the navigation.
//! - one module per section: [`home`], [`prescreens`], [`results`], [`report`], [`webhooks`],
//!   [`keys`], [`proctoring`], [`sandbox`], [`chart`] (the server-drawn delivery chart).

pub mod auth;
pub mod certify;
pub mod chart;
pub mod form;
pub mod home;
pub mod keys;
pub mod prescreens;
pub mod proctoring;
pub mod report;
pub mod results;
pub mod sandbox;
pub mod view;
pub mod webhooks;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use screenhook_delivery::{ManageError, WebhookManager};
use screenhook_engine::{Engine, EngineError};
use screenhook_store::StoreError;
use tokio::sync::Mutex;

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    pub engine: Engine,
    pub webhooks: WebhookManager,
    /// How this process reaches itself over HTTP (the simulator drives the server like a client).
    pub self_url: String,
    /// One simulation at a time: two runs would advance the sandbox clock under each other.
    simulation: Arc<Mutex<()>>,
}

impl Console {
    pub fn new(engine: Engine, webhooks: WebhookManager, self_url: impl Into<String>) -> Console {
        Console { engine, webhooks, self_url: self_url.into(), simulation: Arc::default() }
    }

    fn secure_cookies(&self) -> bool {
        self.engine.config.public_url.starts_with("https://")
    }

    pub fn public_url(&self) -> &str {
        self.engine.config.public_url.trim_end_matches('/')
    }

    /// The console's routes; merge them with the API's and add
    /// [`screenhook_web::security_headers`] around the whole server.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home::start))
            .route("/signin", post(home::sign_in))
            .route("/signout", post(home::sign_out))
            .route("/prescreens", get(prescreens::list).post(prescreens::create))
            .route("/prescreens/new", get(prescreens::new_form))
            .route("/prescreens/{id}", get(prescreens::show).post(prescreens::edit))
            .route("/prescreens/{id}/invite", post(prescreens::invite))
            .route("/prescreens/{id}/invite-yourself", post(prescreens::invite_yourself))
            .route("/prescreens/{id}/{action}", post(prescreens::status_action))
            .route("/results", get(results::list))
            .route("/results/{id}", get(report::signed_in))
            .route("/results/{id}/{action}", post(report::action))
            .route("/test-result/{id}", get(report::by_token))
            .route("/integrations/webhooks", get(webhooks::list).post(webhooks::create))
            .route("/integrations/webhooks/new", get(webhooks::new_form))
            .route("/integrations/webhooks/{id}", get(webhooks::show).post(webhooks::update))
            .route("/integrations/webhooks/{id}/{action}", post(webhooks::action))
            .route("/integrations/keys", get(keys::list).post(keys::create))
            .route("/integrations/keys/{id}/revoke", post(keys::revoke))
            .route("/integrations/certify", get(certify::show))
            .route("/integrations/certify/apply", post(certify::apply))
            .route(
                "/integrations/certify/import",
                post(certify::import).layer(DefaultBodyLimit::max(certify::MAX_UPLOAD_BYTES)),
            )
            .route("/proctoring", get(proctoring::queue))
            .route("/proctoring/{id}", post(proctoring::decide))
            .route("/sandbox", get(sandbox::page_get))
            .route("/sandbox/clock", post(sandbox::advance_clock))
            .route("/simulate", get(sandbox::simulate_page))
            .route("/simulate/run", post(sandbox::run_simulation))
            .route("/lifecycle", get(home::lifecycle))
            .fallback(not_found)
            .with_state(self)
    }
}

async fn not_found() -> Response {
    Failure::NotFound("There is no page at this address.".into()).into_response()
}

/// Why a page could not be shown: each kind is the one error page with its status.
#[derive(Debug)]
pub enum Failure {
    NotFound(String),
    Forbidden(String),
    /// The form's CSRF token is missing or wrong.
    Csrf,
    BadRequest(String),
    Unavailable(String),
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Failure::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            Failure::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            Failure::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without its security token (or from another site). Go back, reload the page and try again."
                    .to_owned(),
            ),
            Failure::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            Failure::Unavailable(m) => {
                tracing::error!(error = %m, "console: the database failed");
                (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "The database did not answer; try again in a moment.".to_owned())
            }
        };
        screenhook_web::error_page(status, title, &message)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Unavailable(err.to_string())
    }
}

/// Engine errors that are not the user's: refusals are shown on the form instead.
impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::NotFound { what, .. } => Failure::NotFound(format!("There is no such {what}.")),
            EngineError::Refused(refused) => Failure::BadRequest(refused.to_string()),
            other => Failure::Unavailable(other.to_string()),
        }
    }
}

impl From<ManageError> for Failure {
    fn from(err: ManageError) -> Self {
        match err {
            ManageError::NotFound { what, .. } => Failure::NotFound(format!("There is no such {what}.")),
            ManageError::Store(err) => err.into(),
            other => Failure::BadRequest(other.to_string()),
        }
    }
}

pub type PageResult = Result<Response, Failure>;
