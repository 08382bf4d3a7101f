//! GraphiQL is served from the binary: the page loads only its own assets, with no inline script
//! or style, so it works offline and under `default-src 'self'`.

use reqwest::{StatusCode, header};

use crate::spawn_app;

const ASSETS: [(&str, &str); 6] = [
    ("react.production.min.js", "text/javascript; charset=utf-8"),
    ("react-dom.production.min.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.css", "text/css; charset=utf-8"),
    ("init.js", "text/javascript; charset=utf-8"),
    ("page.css", "text/css; charset=utf-8"),
];

/// The values of every `attribute="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .collect()
}

#[tokio::test]
async fn the_page_loads_only_its_own_assets_and_no_inline_code() {
    let app = spawn_app().await;
    let res = app.http.get(format!("{}/graphiql", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let page = res.text().await.unwrap();

    assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
    let mut loaded: Vec<&str> = attribute_values(&page, "src");
    loaded.extend(attribute_values(&page, "href"));
    let mut expected: Vec<String> = ASSETS.iter().map(|(name, _)| format!("/graphiql/assets/{name}")).collect();
    loaded.sort_unstable();
    expected.sort_unstable();
    assert_eq!(loaded, expected, "the page loads exactly the served assets");

    // Every script is a file, with nothing between its tags; no style element or attribute.
    let scripts = page.matches("<script").count();
    assert_eq!(scripts, page.matches("\"></script>").count(), "{page}");
    assert_eq!(scripts, attribute_values(&page, "src").len());
    assert!(!page.contains("<style") && !page.contains(" style="), "{page}");
    assert!(page.contains(r#"{"Authorization": "Bearer &lt;your API key&gt;"}"#), "the note says where the key goes");
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    for (name, content_type) in ASSETS {
        let res = app.http.get(format!("{}/graphiql/assets/{name}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{name}");
        assert_eq!(res.headers()[header::CONTENT_TYPE], content_type, "{name}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=86400", "{name}");
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{name}");
        let on_disk = std::fs::read(format!("{}/assets/graphiql/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert_eq!(res.bytes().await.unwrap(), on_disk, "{name}");
    }

    // The bootstrap posts to /graphql and opens the headers tab with the header to fill in.
    let init = app.http.get(format!("{}/graphiql/assets/init.js", app.base)).send().await.unwrap();
    let init = init.text().await.unwrap();
    assert!(init.contains("url: '/graphql'"), "{init}");
    assert!(init.contains("Authorization: 'Bearer <your API key>'"), "{init}");

    for unknown in ["nope.js", "README.md", "LICENSE.react", "graphiql.min.js.map", "..%2FCargo.toml", ""] {
        let res = app.http.get(format!("{}/graphiql/assets/{unknown}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{unknown:?}");
    }
}
