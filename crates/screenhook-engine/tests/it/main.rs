//! The engine over a real SQLite file: every lifecycle path, and timers across restarts.

mod advisor;
mod certify_import;
mod paths;
mod restart;

use std::{path::Path, sync::Arc};

use screenhook_domain::{
    CompanyId, FrameworkId, Millis, TestId, Timestamp,
    test::{NewFrameworkTest, NewTest, TestCommand},
};
use screenhook_engine::{Engine, EngineConfig, InviteInput, ManualClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;

pub const T0: Timestamp = Timestamp::from_millis(1_760_000_000_000);
pub const INTEGRITY_DELAY: Millis = Millis::from_millis(5_000);

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub company: CompanyId,
}

pub async fn open(path: &Path, clock: Arc<ManualClock>) -> Harness {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.expect("open the database"));
    let engine = Engine::new(
        store,
        clock.clone(),
        EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: INTEGRITY_DELAY },
    );
    bootstrap::ensure_sandbox(&*engine.store, &*engine.clock).await.expect("bootstrap");
    Harness { engine, clock, company: CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap() }
}

impl Harness {
    pub async fn test(&self, proctored: bool, certified: bool) -> TestId {
        let placeholder = TestId::parse("placeholder").unwrap();
        let cmd = if certified {
            TestCommand::CreateFromFramework(NewFrameworkTest {
                id: placeholder,
                company_id: self.company.clone(),
                framework_id: FrameworkId::parse("general-coding").unwrap(),
                title: "Backend engineer".into(),
                external_title: "Coding assessment".into(),
                internal_description: None,
                proctored,
                default_expiration: None,
                result_date_limit: None,
                labels: vec![],
            })
        } else {
            TestCommand::Create(NewTest {
                id: placeholder,
                company_id: self.company.clone(),
                title: "Take-home".into(),
                external_title: "Take-home".into(),
                internal_description: None,
                proctored,
                duration: Millis::minutes(90),
                default_expiration: None,
                labels: vec![],
            })
        };
        self.engine.create_test(&self.company, cmd).await.expect("create the test").0.id
    }

    pub fn invitation(&self, test: &TestId, email: &str) -> InviteInput {
        InviteInput {
            test_id: test.clone(),
            candidate_first_name: "Jane".into(),
            candidate_last_name: "Doe".into(),
            candidate_email: email.into(),
            external_id: Some("ats-123".into()),
            expire_duration: None,
            custom_duration: None,
            integrations: Default::default(),
            prefer_existing: false,
        }
    }
}
