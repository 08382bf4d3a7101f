//! `screenhook import-certify` as a user runs it, on a real SQLite file and, when
//! `TEST_DATABASE_URL` is set, on PostgreSQL: the report, refused lines with their line,
//! field and what is allowed, exit statuses, dry runs and a second import that changes nothing.

mod support;

use std::{io::Write, path::Path, process::Command};

use support::PgDatabase;

const EXPORT: &str = r#"{"kind":"standardizedTest","id":"gca","title":"GCA","type":"certification","frameworkId":"general-coding","proctored":true}
{"kind":"certificationRequest","id":"r1","testId":"gca","candidateName":"Ada Lovelace","candidateEmail":"ada@example.com","createDate":1700000000000,"lastStatus":"shared","results":[{"testSessionId":"s1","startDate":1700000100000,"finishDate":1700003700000,"codingScore":820,"score":600,"maxScore":600,"certificationStatus":"certified","proctored":true}]}
{"kind":"certificationRequest","id":"r2","testId":"gca","candidateName":"Grace Hopper","candidateEmail":"grace@example.com","createDate":1700000000000,"lastStatus":"expired","results":[]}
"#;

const BAD_LINE: &str = r#"{"kind":"certificationRequest","id":"r3","testId":"gca","candidateName":"X","candidateEmail":"x@example.com","createDate":1700000000000,"lastStatus":"finished","results":[]}"#;

/// Where the import writes: `--database FILE` or `--database-url URL`.
fn target(args: &mut Command, database: &Database<'_>) {
    match database {
        Database::Sqlite(path) => args.arg("--database").arg(path).env_remove("SCREENHOOK_DATABASE__URL"),
        Database::Postgres(url) => args.arg("--database-url").arg(url).env("SCREENHOOK_SECRETS__KEY", PG_KEY),
    };
}

/// The key the PostgreSQL journey seals candidate links with (32 bytes of base64).
const PG_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

enum Database<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

/// Runs `screenhook import-certify`: the exit code, stdout and stderr.
fn import(database: &Database<'_>, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_screenhook"));
    command.arg("import-certify").arg(file).args(extra);
    target(&mut command, database);
    let out = command.output().expect("run screenhook import-certify");
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path
}

/// The whole journey on one database holding the sandbox company.
fn journey(database: &Database<'_>, dir: &Path) {
    let good = write(dir, "export.jsonl", EXPORT);
    let with_bad = write(dir, "with-bad.jsonl", &format!("{EXPORT}{BAD_LINE}\n"));

    let (code, out, err) = import(database, &good, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert!(out.contains("requests          2 would be imported"), "{out}");

    let (code, out, err) = import(database, &good, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("tests             1 imported"), "{out}");
    assert!(out.contains("requests          2 imported"), "{out}");
    assert!(out.contains("results           1 imported"), "{out}");
    assert!(out.contains("No webhooks were sent for imported history."), "{out}");

    let (code, out, err) = import(database, &good, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Nothing to import: every line had been imported before."), "{out}");
    assert!(out.contains("requests          0 imported,         2 skipped"), "{out}");

    // A refused line is shown as met (stderr) and in the report; the others were imported
    // before and are skipped; the exit status says some lines were refused.
    let (code, out, err) = import(database, &with_bad, &[]);
    assert_eq!(code, 2, "{out}{err}");
    let refusal = r#"line 4: lastStatus: "finished" is not allowed (allowed: one of pending, testStarted, testTaken, shared, rejected, expired)"#;
    assert!(err.contains(&format!("refused {refusal}")), "{err}");
    assert!(out.contains("1 line refused; nothing of it was written"), "{out}");
    assert!(out.contains(refusal), "{out}");

    let (code, _, err) = import(database, &dir.join("missing.jsonl"), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("opening the export"), "{err}");
    let (code, _, err) = import(database, &good, &["--company", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("--company: there is no company nobody"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_certify_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("screenhook.db");
    let store = screenhook_store_sqlite::SqliteStore::open(&db).await.unwrap();
    screenhook_engine::bootstrap::ensure_sandbox(&store, &screenhook_engine::SystemClock).await.unwrap();
    drop(store);
    tokio::task::spawn_blocking(move || journey(&Database::Sqlite(&db), dir.path())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_certify_on_postgres() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        let _ = writeln!(std::io::stderr(), "skipped: set TEST_DATABASE_URL to import into PostgreSQL");
        return;
    };
    let database = PgDatabase::create(&admin).await;
    let migrated = Command::new(env!("CARGO_BIN_EXE_screenhook"))
        .args(["migrate", "--database-url", &database.url])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let keys = screenhook_store::SecretKeys::parse(("key", PG_KEY), &[]).unwrap();
    let store = screenhook_store_postgres::PgStore::connect(&database.url, Default::default(), keys).await.unwrap();
    screenhook_engine::bootstrap::ensure_sandbox(&store, &screenhook_engine::SystemClock).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The import writes candidate links, sealed: without the key it refuses before reading.
    let file = write(dir.path(), "export.jsonl", EXPORT);
    let out = Command::new(env!("CARGO_BIN_EXE_screenhook"))
        .args(["import-certify", "--company", "sandbox", "--database-url", &database.url])
        .arg(&file)
        .env_remove("SCREENHOOK_SECRETS__KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("secrets.key: PostgreSQL needs the key"), "{err}");
    let sandbox = screenhook_domain::CompanyId::parse(screenhook_engine::bootstrap::SANDBOX_COMPANY).unwrap();
    let gca = screenhook_domain::StandardizedTestId::parse("gca").unwrap();
    let imported = screenhook_store::Store::certify_test(&store, &sandbox, &gca).await.unwrap();
    assert!(imported.is_none(), "nothing was imported");
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || journey(&Database::Postgres(&url), dir.path())).await.unwrap();
}
