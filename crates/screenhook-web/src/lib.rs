//! What every HTML page of screenhook shares, so the console, the inspector, the simulator and
//! the candidate link look alike and are protected alike:
//!
//! - [`escape`]: the one HTML escape helper for markup built in code (askama templates escape
//!   on their own).
//! - [`assets`]: the stylesheet and the few scripts, served by the binary under `/assets/` —
//!   nothing is loaded from another origin, so every page works offline.
//! - [`security_headers`]: the headers every response carries (a CSP that allows only this
//!   origin's scripts and styles, no framing, no sniffing, no referrer).
//! - [`standalone`] and [`error_page`]: the page shell of pages outside the console, and the
//!   one error page.

pub mod assets;

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

/// Escapes text for HTML element content and quoted attribute values (the domain's rule, which
/// its SVG also uses).
pub use screenhook_domain::markup::escape;

/// The Content-Security-Policy of every page: scripts, styles, fonts and connections from
/// this origin only, no inline script, no framing, forms posting back here only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Middleware adding the security headers to every response that has not set its own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    for (name, value) in defaults {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// A page outside the console (the inspector, the candidate link, errors): the product's
/// stylesheet, a header linking home, and `body` (markup the caller escaped). `scripts` are
/// paths of this server's scripts, loaded deferred.
pub fn standalone(title: &str, body: &str, scripts: &[&str]) -> String {
    let scripts: String =
        scripts.iter().map(|src| format!(r#"<script defer src="{}"></script>"#, escape(src))).collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — screenhook</title><link rel="stylesheet" href="/assets/app.css"><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">{scripts}</head>
<body class="standalone"><header class="topbar"><a class="brand" href="/">screenhook</a></header>
<main class="narrow">{body}</main></body></html>"#,
        title = escape(title),
    )
}

/// The one error page: a status, a title and what to do, as HTML.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        r#"<section class="error-page"><p class="status-code">{}</p><h1>{}</h1><p>{}</p>
<p><a class="button" href="/">Go to the start page</a></p></section>"#,
        status.as_u16(),
        escape(title),
        escape(message),
    );
    (status, Html(standalone(title, &body, &[]))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_page_escapes_its_texts() {
        let page = standalone("<t>", "<p>ok</p>", &["/assets/x.js"]);
        assert!(page.contains("<title>&lt;t&gt; — screenhook</title>"));
        assert!(page.contains(r#"<script defer src="/assets/x.js"></script>"#));
        assert!(!page.contains("<script>"), "no inline script");
    }
}
