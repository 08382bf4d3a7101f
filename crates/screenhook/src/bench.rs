//! `screenhook bench`: throughput on this machine, measured through the real code paths.
//! Figures are recorded in docs/PERFORMANCE.md; nothing here is a pass/fail test.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use screenhook_domain::{
    CompanyId, Millis,
    test::{NewTest, TestCommand},
};
use screenhook_engine::{Engine, EngineConfig, InviteInput, SystemClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;

#[derive(Debug, clap::Args)]
pub struct TransitionsArgs {
    /// How long to measure, after a one-second warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent callers, each committing one invitation (a transition and its event) at a time.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Database file; a fresh temporary one when omitted.
    #[arg(long)]
    database: Option<std::path::PathBuf>,
}

/// Seconds of CPU this process has used (user + system), from /proc.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

pub fn transitions(args: TransitionsArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let dir = tempfile::tempdir()?;
        let path = args.database.clone().unwrap_or_else(|| dir.path().join("bench.db"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.context("opening the database")?);
        let engine = Engine::new(
            store.clone(),
            Arc::new(SystemClock),
            EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: Millis::SECOND },
        );
        bootstrap::ensure_sandbox(&*store, &*engine.clock).await?;
        let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY)?;
        let test = engine
            .create_test(
                &company,
                TestCommand::Create(NewTest {
                    id: screenhook_engine::commands::new_test_id(),
                    company_id: company.clone(),
                    title: "Benchmark".into(),
                    external_title: "Benchmark".into(),
                    internal_description: None,
                    proctored: false,
                    duration: Millis::minutes(60),
                    default_expiration: None,
                    labels: vec![],
                }),
            )
            .await?
            .0;

        let committed = Arc::new(AtomicU64::new(0));
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
        let mut tasks = Vec::new();
        for worker in 0..args.concurrency {
            let (engine, company, test_id) = (engine.clone(), company.clone(), test.id.clone());
            let (committed, measuring, stop, latencies) =
                (committed.clone(), measuring.clone(), stop.clone(), latencies.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let input = InviteInput {
                        test_id: test_id.clone(),
                        candidate_first_name: "Bench".into(),
                        candidate_last_name: format!("{worker}"),
                        candidate_email: format!("bench-{worker}-{n}@example.com"),
                        external_id: Some(format!("{worker}-{n}")),
                        expire_duration: None,
                        custom_duration: None,
                        integrations: Default::default(),
                        prefer_existing: false,
                    };
                    engine.invite(&company, input).await.expect("invitation committed");
                    n += 1;
                    if measuring.load(Ordering::Relaxed) {
                        committed.fetch_add(1, Ordering::Relaxed);
                        mine.push(started.elapsed().as_micros() as u32);
                    }
                }
                latencies.lock().expect("not poisoned").extend(mine);
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await?;
        }
        let n = committed.load(Ordering::Relaxed);
        let mut latencies = std::mem::take(&mut *latencies.lock().expect("not poisoned"));
        latencies.sort_unstable();
        let pct =
            |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0;
        let events = store.events_after(0, u32::MAX).await?.len();
        println!("committed transitions (each with its outbox event, durable, synchronous=FULL)");
        println!("  concurrency        {}", args.concurrency);
        println!("  transitions/s      {:.0}", n as f64 / elapsed);
        println!("  commit latency ms  p50 {:.2}  p99 {:.2}  max {:.2}", pct(0.5), pct(0.99), pct(1.0));
        println!("  CPU per transition {:.1} µs (whole process, incl. the callers)", cpu * 1e6 / n.max(1) as f64);
        println!("  outbox rows total  {events}");
        Ok(())
    })
}
