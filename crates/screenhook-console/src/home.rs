//! The start page with its sign-in, signing out, and the pages without data of their own.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    http::header,
    response::{AppendHeaders, IntoResponse, Redirect},
};
use screenhook_domain::lifecycle;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{
    Console, PageResult,
    auth::{self, SESSION_COOKIE, SIGNIN_COOKIE, Signed},
    form::{Posted, Unsigned},
    view::{Nav, Notice},
};

#[derive(Template, WebTemplate)]
#[template(path = "start.html")]
struct Start {
    csrf: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in page with a fresh double-submit token in its cookie.
fn start_page(console: &Console, next: String, error: Option<String>) -> axum::response::Response {
    let csrf = screenhook_store::random_id("", 32);
    let cookie = auth::set_cookie(console, SIGNIN_COOKIE, &csrf, 3600);
    let status = if error.is_some() { axum::http::StatusCode::UNAUTHORIZED } else { axum::http::StatusCode::OK };
    (status, [(header::SET_COOKIE, cookie)], Start { csrf, next, error }).into_response()
}

/// Where a key lands: `next`, unless that is the default Pre-Screens page and the key cannot
/// read Pre-Screens; then the first section it may use.
fn landing(key: &screenhook_domain::ApiKey, next: String) -> String {
    use screenhook_domain::Permission;
    if next != "/prescreens" || key.allows(Permission::Tests) {
        return next;
    }
    let sections = [
        (Permission::Results, "/results"),
        (Permission::Webhooks, "/integrations/webhooks"),
        (Permission::Proctor, "/proctoring"),
    ];
    sections
        .into_iter()
        .find(|(p, _)| key.allows(*p))
        .map_or_else(|| "/integrations/certify".to_owned(), |(_, path)| path.to_owned())
}

/// `GET /`: what the product is and a sign-in, or the console for a signed-in browser.
pub async fn start(State(console): State<Console>, signed: Option<Signed>, Query(q): Query<Next>) -> PageResult {
    let next = auth::safe_next(q.next.as_deref());
    if let Some(signed) = signed {
        return Ok(Redirect::to(&landing(&signed.key, next)).into_response());
    }
    Ok(start_page(&console, next, None))
}

/// `POST /signin`: an API key becomes a session cookie.
pub async fn sign_in(
    State(console): State<Console>,
    headers: axum::http::HeaderMap,
    Unsigned(fields): Unsigned,
) -> PageResult {
    let next = auth::safe_next(fields.get("next"));
    let expected = auth::cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    let given = fields.get("_csrf").unwrap_or_default();
    let genuine: bool = expected.as_bytes().ct_eq(given.as_bytes()).into();
    if expected.is_empty() || !genuine {
        return Err(crate::Failure::Csrf);
    }
    let key = match fields.get("key") {
        Some(token) => console.engine.authenticate(token).await?,
        None => None,
    };
    let Some(key) = key else {
        return Ok(start_page(
            &console,
            next,
            Some("That API key is not valid: it is unknown, mistyped or revoked.".into()),
        ));
    };
    let value = auth::session_value(&key, console.engine.clock.now());
    let cookie = auth::set_cookie(&console, SESSION_COOKIE, &value, auth::SESSION_MS / 1000);
    let next = landing(&key, next);
    let clear = auth::set_cookie(&console, SIGNIN_COOKIE, "", 0);
    Ok((AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]), Redirect::to(&next))
        .into_response())
}

/// `POST /signout`.
pub async fn sign_out(State(console): State<Console>, _posted: Posted) -> PageResult {
    let cookie = auth::set_cookie(&console, SESSION_COOKIE, "", 0);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle.html")]
struct LifecyclePage {
    nav: Nav,
    notice: Option<Notice>,
    svg: String,
    mermaid: String,
}

/// `GET /lifecycle`: the state machine as a picture.
pub async fn lifecycle(signed: Signed) -> PageResult {
    Ok(LifecyclePage {
        nav: Nav::new(&signed, "lifecycle"),
        notice: None,
        svg: lifecycle::to_svg(),
        mermaid: lifecycle::to_mermaid(),
    }
    .into_response())
}
