//! `screenhook advise` on a real SQLite file: the plan printed, a failing ping refusing the
//! whole plan, and `--apply` updating the webhooks.

use std::{path::Path, process::Command, sync::Arc};

use screenhook_domain::{CompanyId, EventKind, Timestamp, Webhook, WebhookId};
use screenhook_engine::{SystemClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;
use screenhook_testkit::TestReceiver;

/// Runs `screenhook advise` off the runtime, so the receivers keep answering its pings.
async fn advise(db: &Path, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_screenhook"));
    command
        .arg("advise")
        .arg("--database")
        .arg(db)
        .args(args)
        .env("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")
        .env_remove("SCREENHOOK_DATABASE__URL");
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("run screenhook advise");
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

async fn events(store: &dyn Store, id: &str) -> Vec<EventKind> {
    let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap();
    store.webhook(&company, &WebhookId::parse(id).unwrap()).await.unwrap().unwrap().0.events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advise_prints_the_plan_and_applies_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("screenhook.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.unwrap());
    bootstrap::ensure_sandbox(&*store, &SystemClock).await.unwrap();
    let (ok_end, failing_end) = (TestReceiver::start().await, TestReceiver::start().await);
    for (id, url) in [("wh_certify", ok_end.url("/certify")), ("wh_other", failing_end.url("/other"))] {
        let webhook = Webhook {
            id: WebhookId::parse(id).unwrap(),
            company_id: CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap(),
            url,
            events: vec![EventKind::CertificationResultShared],
            secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
            retired_secrets: Vec::new(),
            owner_emails: vec![],
            custom_headers: vec![],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        store.insert_webhook(&webhook).await.unwrap();
    }

    let (ok, out, err) = advise(&db, &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains("There are no Certified Evaluations"), "{out}");
    assert!(out.contains("wh_certify") && out.contains("will change"), "{out}");
    assert!(out.contains(
        "still uses certificationResultShared -> replaced by preScreenResultShared, preScreenResultVerified"
    ));
    assert!(out.contains("Run again with --apply"), "{out}");
    assert!(ok_end.received().is_empty(), "planning sends nothing");

    // One endpoint fails its ping: the command fails and neither webhook changes.
    failing_end.answer(reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let (ok, _, err) = advise(&db, &["--apply"]).await;
    assert!(!ok && err.contains("nothing was applied") && err.contains("/other"), "{err}");
    assert_eq!(events(&*store, "wh_certify").await, [EventKind::CertificationResultShared]);

    failing_end.answer(reqwest::StatusCode::OK);
    let (ok, _, err) = advise(&db, &["--apply", "--drop-legacy"]).await;
    assert!(ok && err.contains("Applied:"), "{err}");
    let after = events(&*store, "wh_certify").await;
    assert!(!after.contains(&EventKind::CertificationResultShared), "{after:?}");
    assert!(after.contains(&EventKind::PreScreenResultShared) && after.contains(&EventKind::CompanyTestSessionCreated));

    let (ok, out, _) = advise(&db, &["--json", "--drop-legacy"]).await;
    assert!(ok);
    let advice: serde_json::Value = serde_json::from_str(&out).expect("JSON advice");
    assert_eq!(advice["upToDate"], true, "{advice:#}");
    assert_eq!(advice["step1"], "NO_CERTIFIED_EVALUATIONS");

    let (ok, _, err) = advise(&db, &["--company", "nobody"]).await;
    assert!(!ok && err.contains("--company: there is no company nobody"), "{err}");
}
