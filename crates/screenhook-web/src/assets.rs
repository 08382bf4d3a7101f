//! The product's static files, compiled into the binary: `GET /assets/{name}`.

use axum::{
    Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// `(name, content type, bytes)` of every served file.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../assets/favicon.svg")),
    ("candidate.js", "text/javascript; charset=utf-8", include_bytes!("../assets/candidate.js")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../assets/console.js")),
    ("inspector.js", "text/javascript; charset=utf-8", include_bytes!("../assets/inspector.js")),
];

/// The file called `name`, if there is one.
pub fn file(name: &str) -> Option<(&'static str, &'static [u8])> {
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, kind, bytes)| (*kind, *bytes))
}

async fn serve(Path(name): Path<String>) -> Response {
    match file(&name) {
        Some((kind, bytes)) => {
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=3600")], bytes).into_response()
        }
        None => crate::error_page(StatusCode::NOT_FOUND, "Not found", "There is no such file."),
    }
}

/// `GET /assets/{name}`.
pub fn router() -> Router {
    // Browsers ask for /favicon.ico whatever the page says.
    Router::new()
        .route("/assets/{name}", get(serve))
        .route("/favicon.ico", get(|| serve(Path("favicon.svg".to_owned()))))
}
