//! `GET /graphiql` and `GET /graphiql/assets/{file}`: GraphiQL served from the binary, so it
//! works without internet access and under a strict Content-Security-Policy
//! (`default-src 'self'`, no inline script or style): the page loads only its own assets, and
//! even the bootstrap is a file (`init.js`). Which package versions the vendored files come
//! from, and how to refresh them: `assets/graphiql/README.md`.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>screenhook GraphQL</title>
<link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
<link rel="stylesheet" href="/graphiql/assets/page.css">
</head>
<body>
<p class="note">Every request needs an API key: in the <b>Headers</b> tab below, replace
<code>&lt;your API key&gt;</code> in <code>{"Authorization": "Bearer &lt;your API key&gt;"}</code>,
then re-fetch the schema (the &#x27F3; button on the left, or Shift-Ctrl-R). GraphiQL keeps the
key in this tab only, unless you turn on <i>Persist headers</i> in its settings.</p>
<div id="graphiql">Loading…</div>
<script src="/graphiql/assets/react.production.min.js"></script>
<script src="/graphiql/assets/react-dom.production.min.js"></script>
<script src="/graphiql/assets/graphiql.min.js"></script>
<script src="/graphiql/assets/init.js"></script>
</body>
</html>
"#;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// What `/graphiql/assets/` serves: name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    ("react.production.min.js", JS, include_bytes!("../assets/graphiql/react.production.min.js")),
    ("react-dom.production.min.js", JS, include_bytes!("../assets/graphiql/react-dom.production.min.js")),
    ("graphiql.min.js", JS, include_bytes!("../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", CSS, include_bytes!("../assets/graphiql/graphiql.min.css")),
    ("init.js", JS, include_bytes!("../assets/graphiql/init.js")),
    ("page.css", CSS, include_bytes!("../assets/graphiql/page.css")),
];

/// `GET /graphiql`.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /graphiql/assets/{file}`. A day of caching: the names carry no version, and a refresh
/// reaches browsers within a day.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
