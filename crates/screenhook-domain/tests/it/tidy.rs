//! The domain stays pure: no runtime, database, HTTP or randomness crates as dependencies.

#[test]
fn no_io_dependencies() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let doc: toml::Table = manifest.parse().unwrap();
    let forbidden = ["tokio", "sqlx", "rusqlite", "axum", "reqwest", "async-graphql", "hyper", "rand"];
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = doc.get(section).and_then(|d| d.as_table()) else { continue };
        for name in deps.keys() {
            assert!(!forbidden.contains(&name.as_str()), "{name} must not be a {section} of screenhook-domain");
        }
    }
}
