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
use screenhook_engine::{Clock, Engine, EngineConfig, InviteInput, SystemClock, bootstrap};
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

/// An engine over `store` and a custom, non-proctored Pre-Screen of the sandbox company.
async fn benchmark_test(store: Arc<dyn Store>) -> anyhow::Result<(Engine, CompanyId, screenhook_domain::CompanyTest)> {
    let engine = Engine::new(
        store,
        Arc::new(SystemClock),
        EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: Millis::SECOND },
    );
    let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY)?;
    let new = NewTest {
        id: screenhook_engine::commands::new_test_id(),
        company_id: company.clone(),
        title: "Benchmark".into(),
        external_title: "Benchmark".into(),
        internal_description: None,
        proctored: false,
        duration: Millis::minutes(60),
        default_expiration: None,
        labels: vec![],
    };
    let test = engine.create_test(&company, TestCommand::Create(new)).await?.0;
    Ok((engine, company, test))
}

/// Seconds of CPU this process has used (user + system).
pub fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// Seconds of CPU process `pid` ("self" for this one) has used, from /proc.
fn cpu_seconds_of(pid: &str) -> f64 {
    let (own, _) = cpu_ticks(pid);
    own / 100.0
}

/// Clock ticks of process `pid`: its own (utime + stime) and its waited-for children's
/// (cutime + cstime).
fn cpu_ticks(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime, stime, cutime and cstime are fields 14 to 17 of the line, 12 to 15 after the name.
    (ticks(11) + ticks(12), ticks(13) + ticks(14))
}

/// Seconds of CPU every `postgres` process on this machine has used, when the database runs
/// here: the live processes' own, plus what the postmaster collected from those that ended
/// (a connection's backend that exits moves its time into its parent's children's time).
/// `None` when no PostgreSQL process is visible.
fn postgres_cpu_seconds() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres") {
            let (own, children) = cpu_ticks(&pid);
            *total.get_or_insert(0.0) += (own + children) / 100.0;
        }
    }
    total
}

pub fn transitions(args: TransitionsArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let dir = tempfile::tempdir()?;
        let path = args.database.clone().unwrap_or_else(|| dir.path().join("bench.db"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.context("opening the database")?);
        bootstrap::ensure_sandbox(&*store, &SystemClock).await?;
        let (engine, company, test) = benchmark_test(store.clone()).await?;

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

#[derive(Debug, Clone, clap::Args)]
pub struct DeliveriesArgs {
    /// Events to fire (each a createCompanyTestSession mutation, each delivered once).
    #[arg(long, default_value_t = 20_000)]
    events: u64,
    /// Concurrent HTTP connections firing events (closed loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Mutations per HTTP request (a GraphQL batch; at most 10).
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Fire at this many events per second instead of as fast as possible (open loop), to
    /// measure latency below saturation.
    #[arg(long)]
    rate: Option<u64>,
    /// Measure a backlog drain: after the same unmeasured warm-up as other runs, fire
    /// everything into an API-only server, then start a worker-only server and time how fast
    /// it delivers the backlog.
    #[arg(long)]
    drain: bool,
    /// Run on PostgreSQL instead of a temporary SQLite file: the URL of an EMPTY database
    /// (e.g. made with `createdb`), which the benchmark fills.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Server processes sharing the database (PostgreSQL only); events are spread over them.
    #[arg(long, default_value_t = 1)]
    processes: usize,
}

/// Where the benchmark's servers keep their data.
#[derive(Clone)]
enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Database {
    fn label(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "durable SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A server child process and its CPU accounting.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start(database: &Database, role: &str) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = std::process::Command::new(std::env::current_exe()?);
        command.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--role", role]);
        match database {
            Database::Sqlite(path) => command.arg("--database").arg(path),
            Database::Postgres(url) => {
                command.env("SCREENHOOK_DATABASE__URL", url).env("SCREENHOOK_SECRETS__KEY", postgres_key())
            }
        };
        let child = command
            .env("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")
            .env("SCREENHOOK_API__RATE_LIMIT_PER_SECOND", "100000000")
            .env("SCREENHOOK_API__RATE_LIMIT_BURST", "100000000")
            .env("SCREENHOOK_LOG__FILTER", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting `screenhook serve`")?;
        Ok(Server { child, base: format!("http://127.0.0.1:{port}") })
    }

    async fn ready(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        for _ in 0..200 {
            if let Ok(res) = http.get(format!("{}/readyz", self.base)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("the server did not become ready")
    }

    fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.child.id().to_string())
    }

    fn peak_rss_mib(&self) -> f64 {
        peak_rss_mib_of(&self.child.id().to_string())
    }

    fn stop(mut self) -> anyhow::Result<()> {
        // SIGTERM: a graceful stop, so the worker records what it sent.
        std::process::Command::new("kill").arg(self.child.id().to_string()).status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A benchmark that failed half-way must not leave its servers running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Arrival times at the benchmark's own receiver, by event sequence number.
#[derive(Clone, Default)]
struct Arrivals(Arc<std::sync::Mutex<Vec<(u64, Instant)>>>, Arc<tokio::sync::Notify>);

impl Arrivals {
    fn count(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }
}

async fn start_receiver(arrivals: Arrivals) -> anyhow::Result<String> {
    use axum::{body::Bytes, extract::State, routing::post};
    async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
        let now = Instant::now();
        // The sequence number rides in externalId: `"externalId":"<n>"`.
        let seq = body
            .windows(14)
            .position(|w| w == b"\"externalId\":\"")
            .and_then(|at| {
                let digits: Vec<u8> = body[at + 14..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
                std::str::from_utf8(&digits).ok()?.parse().ok()
            })
            .unwrap_or(u64::MAX);
        arrivals.0.lock().expect("not poisoned").push((seq, now));
        arrivals.1.notify_one();
        "ok"
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new().route("/hook", post(receive)).with_state(arrivals);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The key this run's PostgreSQL processes seal webhook secrets with: the configured one, or
/// one made up for the run (the bench's database is its own).
fn postgres_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        std::env::var("SCREENHOOK_SECRETS__KEY").unwrap_or_else(|_| screenhook_store::SecretKeys::generate())
    })
}

/// Creates the database with a Pre-Screen and a webhook to `receiver`; returns the API key
/// and the test id.
async fn prepare(database: &Database, receiver: &str) -> anyhow::Result<(String, String)> {
    let store: Arc<dyn Store> = match database {
        Database::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        Database::Postgres(url) => {
            let options = screenhook_store_postgres::PgOptions { max_connections: 2, migrate: true, schema: None };
            let keys = screenhook_store::SecretKeys::parse(("SCREENHOOK_SECRETS__KEY", postgres_key()), &[])?;
            Arc::new(screenhook_store_postgres::PgStore::connect(url, options, keys).await?)
        }
    };
    let (_, key) = bootstrap::ensure_sandbox(&*store, &SystemClock).await?.context("a fresh database")?;
    let (_, company, test) = benchmark_test(store.clone()).await?;
    let now = SystemClock.now();
    store
        .insert_webhook(&screenhook_domain::Webhook {
            id: screenhook_domain::WebhookId::parse("wh_bench")?,
            company_id: company,
            url: receiver.to_owned(),
            events: vec![screenhook_domain::EventKind::CompanyTestSessionCreated],
            secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
            retired_secrets: Vec::new(),
            owner_emails: vec![],
            custom_headers: vec![],
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok((key.token, test.id.to_string()))
}

/// Fires the invitations numbered `seqs`, connection k to server k mod n; returns each one's
/// send time, by its place in `seqs`.
async fn fire(
    args: &DeliveriesArgs,
    bases: &[String],
    key: &str,
    test_id: &str,
    seqs: std::ops::Range<u64>,
) -> anyhow::Result<Vec<Instant>> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let sent: Arc<Vec<std::sync::OnceLock<Instant>>> =
        Arc::new(seqs.clone().map(|_| std::sync::OnceLock::new()).collect());
    let next = Arc::new(AtomicU64::new(seqs.start));
    let batch = args.batch.clamp(1, 10);
    let pacing = args.rate.map(|rate| Duration::from_secs_f64(batch as f64 / rate as f64));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for connection in 0..args.concurrency {
        let base = &bases[connection % bases.len()];
        let (http, sent, next) = (http.clone(), sent.clone(), next.clone());
        let (url, auth, test_id) = (format!("{base}/graphql"), format!("Bearer {key}"), test_id.to_owned());
        let (origin, total) = (seqs.start, seqs.end);
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                if let Some(gap) = pacing {
                    // Open loop: request k leaves at k * gap, whoever sends it.
                    let due = started + gap * ((first - origin) / batch) as u32;
                    tokio::time::sleep_until(due.into()).await;
                }
                let ops: Vec<serde_json::Value> = (first..(first + batch).min(total))
                    .map(|seq| {
                        serde_json::json!({
                            "query": "mutation($f: TestSessionInput!) { createCompanyTestSession(sessionFields: $f) { id } }",
                            "variables": { "f": {
                                "testId": test_id,
                                "candidateFirstName": "Bench",
                                "candidateLastName": "Candidate",
                                "candidateEmail": format!("bench{seq}@example.com"),
                                "externalId": seq.to_string(),
                            }}
                        })
                    })
                    .collect();
                let body = if batch == 1 { ops[0].to_string() } else { serde_json::Value::Array(ops).to_string() };
                let at = Instant::now();
                for seq in first..(first + batch).min(total) {
                    let _ = sent[(seq - origin) as usize].set(at);
                }
                let res = http.post(&url).header("authorization", &auth).header("content-type", "application/json").body(body).send().await?;
                let status = res.status();
                let text = res.text().await?;
                anyhow::ensure!(status.is_success() && !text.contains("\"errors\""), "an invitation failed: {status} {text}");
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(sent.iter().map(|t| *t.get().expect("every event was sent")).collect())
}

/// Events fired, delivered and forgotten before a steady-state run is measured.
const WARM_UP_EVENTS: u64 = 2_000;

/// Brings a fresh database to where a running installation is: connections open, tables
/// holding rows, and on PostgreSQL statistics that say so. Without the `ANALYZE` (which
/// autovacuum runs within a real installation's first minute), each server connection keeps
/// the plans it made while the tables were empty — sequential scans that grow with them.
async fn warm_up(
    args: &DeliveriesArgs,
    database: &Database,
    bases: &[String],
    key: &str,
    test_id: &str,
    arrivals: &Arrivals,
) -> anyhow::Result<()> {
    // Numbered past the measured events, so a late arrival cannot pass for one of them.
    let seqs = args.events..args.events + WARM_UP_EVENTS;
    fire(&DeliveriesArgs { rate: None, ..args.clone() }, bases, key, test_id, seqs.clone()).await?;
    wait_for(arrivals, &seqs, Duration::from_secs(120)).await?;
    if let Database::Postgres(url) = database {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    }
    arrivals.0.lock().expect("not poisoned").clear();
    Ok(())
}

/// Waits until every event numbered in `seqs` has arrived (a late warm-up delivery or a
/// duplicate does not stand in for one).
async fn wait_for(arrivals: &Arrivals, seqs: &std::ops::Range<u64>, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let n = seqs.clone().count();
    // Only the arrivals since the last look are read, and the receiver's lock is held just to
    // copy them: rescanning every arrival at each wake-up made the wait quadratic, and the
    // receiver (which needs that lock for each request) slowed to the waiter's pace.
    let (mut arrived, mut read) = (std::collections::HashSet::with_capacity(n), 0);
    loop {
        let fresh: Vec<u64> = {
            let all = arrivals.0.lock().expect("not poisoned");
            let fresh = all[read..].iter().map(|(seq, _)| *seq).collect();
            read = all.len();
            fresh
        };
        arrived.extend(fresh.into_iter().filter(|seq| seqs.contains(seq)));
        if arrived.len() >= n {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "only {} of {n} deliveries arrived", arrived.len());
        let _ = tokio::time::timeout(Duration::from_millis(100), arrivals.1.notified()).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

pub fn deliveries(args: DeliveriesArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let dir = tempfile::tempdir()?;
        let database = match &args.database_url {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(dir.path().join("bench.db")),
        };
        anyhow::ensure!(
            args.processes == 1 || matches!(database, Database::Postgres(_)),
            "--processes: several processes need --database-url (an SQLite file is served by one process)"
        );
        anyhow::ensure!(args.processes >= 1, "--processes: at least 1");
        let arrivals = Arrivals::default();
        let receiver = start_receiver(arrivals.clone()).await?;
        let (key, test_id) = prepare(&database, &receiver).await?;
        let http = reqwest::Client::new();
        let n = args.events as usize;

        if args.drain {
            // The outage comes to an installation that has been running, with its plans.
            let running = Server::start(&database, "all")?;
            running.ready(&http).await?;
            warm_up(&args, &database, std::slice::from_ref(&running.base), &key, &test_id, &arrivals).await?;
            running.stop()?;
            let api = Server::start(&database, "api")?;
            api.ready(&http).await?;
            let started = Instant::now();
            fire(&args, std::slice::from_ref(&api.base), &key, &test_id, 0..args.events).await?;
            let ingest = started.elapsed().as_secs_f64();
            let (api_cpu, api_rss) = (api.cpu_seconds(), api.peak_rss_mib());
            api.stop()?;
            anyhow::ensure!(arrivals.count() == 0, "an API-only server delivered something");
            let worker = Server::start(&database, "worker")?;
            let started = Instant::now();
            // A million-event backlog may take longer than ten minutes on a small machine.
            wait_for(&arrivals, &(0..args.events), Duration::from_secs(600.max(n as u64 / 1000))).await?;
            let drained = started.elapsed().as_secs_f64();
            let (worker_cpu, worker_rss) = (worker.cpu_seconds(), worker.peak_rss_mib());
            worker.stop()?;
            println!("backlog drain ({n} events, {})", database.label());
            println!(
                "  ingest (API only)     {:.0} events/s, server CPU {:.0} µs/event, peak RSS {api_rss:.0} MiB",
                n as f64 / ingest,
                api_cpu * 1e6 / n as f64
            );
            println!(
                "  drain (worker only)   {:.0} deliveries/s (from process start), server CPU {:.0} µs/delivery, \
                 peak RSS {worker_rss:.0} MiB",
                n as f64 / drained,
                worker_cpu * 1e6 / n as f64
            );
            return Ok(());
        }

        let servers =
            (0..args.processes).map(|_| Server::start(&database, "all")).collect::<anyhow::Result<Vec<_>>>()?;
        for server in &servers {
            server.ready(&http).await?;
        }
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        warm_up(&args, &database, &bases, &key, &test_id, &arrivals).await?;
        let cpu_of = |servers: &[Server]| servers.iter().map(Server::cpu_seconds).sum::<f64>();
        let postgres = matches!(database, Database::Postgres(_));
        let cpu_before = cpu_of(&servers);
        let postgres_before = if postgres { postgres_cpu_seconds() } else { None };
        let started = Instant::now();
        let sent = fire(&args, &bases, &key, &test_id, 0..args.events).await?;
        let ingest = started.elapsed().as_secs_f64();
        wait_for(&arrivals, &(0..args.events), Duration::from_secs(600)).await?;
        let cpu = cpu_of(&servers) - cpu_before;
        let postgres_cpu = postgres_before.zip(postgres_cpu_seconds()).map(|(before, after)| after - before);
        for server in servers {
            server.stop()?;
        }
        // A warm-up delivery that came late is none of the measured events.
        let arrived: Vec<(u64, Instant)> =
            arrivals.0.lock().expect("not poisoned").iter().filter(|(seq, _)| *seq < args.events).copied().collect();
        let last = arrived.iter().map(|(_, t)| *t).max().expect("deliveries arrived");
        let delivered_rate = n as f64 / (last - started).as_secs_f64();
        let mut latencies: Vec<f64> = arrived
            .iter()
            .filter_map(|(seq, at)| sent.get(*seq as usize).map(|s| (*at - *s).as_secs_f64() * 1000.0))
            .collect();
        latencies.sort_by(f64::total_cmp);
        let seqs: std::collections::HashSet<u64> = arrived.iter().map(|(s, _)| *s).collect();
        println!(
            "fired through the API and delivered ({n} events, {} connections, {} per request{}, {}, {} process{})",
            args.concurrency,
            args.batch.clamp(1, 10),
            args.rate.map(|r| format!(", paced at {r}/s")).unwrap_or_default(),
            database.label(),
            args.processes,
            if args.processes == 1 { "" } else { "es" }
        );
        println!("  ingest            {:.0} events/s", n as f64 / ingest);
        println!("  delivered         {:.0} events/s (first send to last arrival)", delivered_rate);
        println!(
            "  fired→delivered   p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        println!("  server CPU        {:.0} µs per event (API, storage, delivery)", cpu * 1e6 / n as f64);
        match postgres_cpu {
            Some(pg) => println!(
                "  PostgreSQL CPU    {:.0} µs per event ({:.0} µs with the server's)",
                pg * 1e6 / n as f64,
                (cpu + pg) * 1e6 / n as f64
            ),
            None if postgres => println!("  PostgreSQL CPU    not measured (no postgres process on this machine)"),
            None => {}
        }
        println!("  missing / dup     {} / {}", n - seqs.len().min(n), arrived.len() - seqs.len());
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct CertifyImportArgs {
    /// Lines of the generated export: one certification test, then requests.
    #[arg(long, default_value_t = 100_000)]
    lines: u64,
    #[command(flatten)]
    database: crate::DatabaseArgs,
    /// Keep the generated export here (a temporary file when omitted).
    #[arg(long, value_name = "FILE")]
    export: Option<std::path::PathBuf>,
}

/// Writes a Certify export of `lines` lines: one certification test, then requests in every
/// `lastStatus`, most with one or two results and ATS ids, as a real export would hold.
fn write_certify_export(path: &std::path::Path, lines: u64) -> anyhow::Result<()> {
    use std::io::Write;
    const DAY: u64 = 86_400_000;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        r#"{{"kind":"standardizedTest","id":"gca-bench","title":"General Coding Assessment","type":"certification","frameworkId":"general-coding","proctored":true}}"#
    )?;
    let base = 1_700_000_000_000u64;
    for i in 1..lines {
        let created = base + i * 1000;
        let (start, finish) = (created + DAY, created + DAY + 3_600_000);
        let score = 300 + (i * 37) % 551;
        let result = |n: u64, status: &str| {
            format!(
                r#"{{"testSessionId":"ts-{i}-{n}","startDate":{},"finishDate":{},"codingScore":{score},"score":{},"maxScore":600,"certificationStatus":"{status}","proctored":true}}"#,
                start + n * DAY,
                finish + n * DAY,
                score * 600 / 850
            )
        };
        let (status, results) = match i % 8 {
            0 => ("pending", String::new()),
            1 => ("testStarted", String::new()),
            2 => ("testTaken", result(0, "pending")),
            3 => ("rejected", String::new()),
            4 => ("expired", result(0, "rejected")),
            5 => ("shared", format!("{},{}", result(0, "rejected"), result(1, "certified"))),
            _ => ("shared", result(0, "certified")),
        };
        writeln!(
            out,
            r#"{{"kind":"certificationRequest","id":"req-{i}","testId":"gca-bench","candidateName":"Candidate {i}","candidateEmail":"candidate-{i}@example.com","externalId":"ext-{i}","createDate":{created},"expirationDate":{},"lastStatus":"{status}","integrations":{{"greenhouseCandidateId":"gh-{i}","greenhouseApplicationId":"app-{i}"}},"results":[{results}]}}"#,
            created + 30 * DAY
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    peak_rss_mib_of("self")
}

/// The most resident memory process `pid` ("self" for this one) has held, from /proc.
fn peak_rss_mib_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Generates an export and imports it through `import-certify`'s own code path.
pub fn certify_import(args: CertifyImportArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let export = args.export.clone().unwrap_or_else(|| dir.path().join("certify-export.jsonl"));
    write_certify_export(&export, args.lines)?;
    let size = std::fs::metadata(&export)?.len();
    let mut config = args.database.config()?;
    if args.database.database.is_none() && config.postgres_url().is_none() {
        config.database.path = dir.path().join("bench.db");
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let store = screenhook::app::open_store(&config, true, false).await?;
        bootstrap::ensure_sandbox(&*store, &SystemClock).await?;
        let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY)?;
        let rss_before = peak_rss_mib();
        let (cpu_before, started) = (cpu_seconds(), Instant::now());
        let report = crate::import_certify::import_file(store, &config.public_url(), &export, company, false).await?;
        let (elapsed, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu_before);
        print!("{}", crate::import_certify::report_text(&report));
        println!("Certify import ({})", if config.postgres_url().is_some() { "PostgreSQL" } else { "SQLite" });
        println!("  export             {} lines, {:.1} MiB", report.lines, size as f64 / (1024.0 * 1024.0));
        println!("  lines/s            {:.0}", report.lines as f64 / elapsed);
        println!("  elapsed            {elapsed:.1} s, CPU {cpu:.1} s (this process)");
        println!("  peak RSS           {:.1} MiB (before the import {rss_before:.1} MiB)", peak_rss_mib());
        Ok(())
    })
}
