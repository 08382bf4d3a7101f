//! What the tests that run the real `screenhook` binary share. Each test binary uses a part.
#![allow(dead_code)]

use sqlx::Connection;
use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::Child,
    sync::mpsc,
    time::Duration,
};

/// The sandbox API key a fresh server prints once on its first start. Keeps reading the
/// child's stdout afterwards, so the pipe never fills.
pub async fn printed_api_key(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(key) = line.split_whitespace().find(|w| w.starts_with("sk_")) {
                let _ = tx.send(key.to_owned());
            }
        }
    });
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .expect("the reader thread")
        .expect("the server prints the sandbox API key on first start (if it exited, its stderr is above)")
}

/// What `screenhook serve` runs, in this process: the [`screenhook::App`] built from the
/// defaults and `settings` (named as the `SCREENHOOK_*` variables name them; nothing is read
/// from this process's environment), serving on 127.0.0.1:0, which is also its public URL.
/// For tests of what the server does; a test of the process itself (a signal, `kill -9`, its
/// log or stdout) runs the binary.
pub async fn spawn_app(settings: &[(&str, &str)]) -> screenhook::Running {
    let settings = settings.iter().map(|(name, value)| (name.to_string(), value.to_string()));
    let config = screenhook::Config::load(None, settings).expect("a valid configuration");
    screenhook::App::spawn(config).await.expect("the app starts")
}

/// A port nothing listens on right now (the OS's pick, released at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("its address").port()
}

/// A fresh database next to `TEST_DATABASE_URL`'s, dropped at the end.
pub struct PgDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin: &str) -> PgDatabase {
        let name = format!("screenhook_t_{}", screenhook_store::random_id("", 10).to_lowercase());
        let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a database (the role needs CREATEDB)");
        // postgres://user:password@host:port/database, without query parameters.
        let (server, _) = admin.rsplit_once('/').expect("a database URL ends in /database");
        PgDatabase { admin: admin.to_owned(), url: format!("{server}/{name}"), name }
    }
}

impl Drop for PgDatabase {
    /// Also when the test fails, so failed runs leave nothing behind.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
