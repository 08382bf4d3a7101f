//! `screenhook`: the one binary. `serve` runs the product; the other subcommands are tools
//! around it.

mod advise;
mod bench;
mod check_receiver;
mod import_certify;
mod listen;
mod receiver;
mod samples;
mod serve;
mod simulate;
mod tools;
mod verify;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use screenhook::config;

/// The server allocates and frees many small buffers per request (HTTP, JSON, GraphQL);
/// mimalloc's thread-local free lists make that markedly cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// screenhook — a self-hostable Pre-Screen assessment integration platform: the invitation
/// lifecycle, the Pre-Screen Webhook and GraphQL APIs, and tools to test an integration.
#[derive(Debug, Parser)]
#[command(name = "screenhook", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: API, scheduler and delivery workers over the embedded SQLite database,
    /// or over PostgreSQL shared with other screenhook processes (--database-url).
    ///
    /// Creates the database on first start, with a sandbox company whose API key is
    /// printed once. Listens on 127.0.0.1:8740 unless configured otherwise.
    ///
    /// Example: screenhook serve --database /var/lib/screenhook/screenhook.db
    /// Example: screenhook serve --database-url postgres://screenhook:…@db:5432/screenhook --role worker
    Serve(ServeArgs),
    /// Apply the database's pending migrations and exit (for PostgreSQL with
    /// database.migrate_on_start = false; SQLite migrates itself on open).
    ///
    /// Example: screenhook migrate --database-url postgres://screenhook:…@db:5432/screenhook
    Migrate(MigrateArgs),
    /// Print the configuration: the commented defaults, or the effective values.
    ///
    /// Example: SCREENHOOK_SERVER__LISTEN=0.0.0.0:9000 screenhook config
    Config {
        /// Print the commented default file instead of the effective configuration.
        #[arg(long)]
        defaults: bool,
        #[command(flatten)]
        source: ConfigSource,
    },
    /// Print the invitation lifecycle: states, commands (with their actor) and events.
    ///
    /// Example: screenhook lifecycle --format mermaid > lifecycle.mmd
    /// Example: screenhook lifecycle --format svg > lifecycle.svg
    Lifecycle {
        #[arg(long, value_enum, default_value = "text")]
        format: tools::LifecycleFormat,
    },
    /// Create, list and revoke API keys in the configured database (SQLite or PostgreSQL).
    ///
    /// Example: screenhook keys create --company sandbox --permissions tests,sessions
    /// Example: screenhook keys list --database-url postgres://screenhook:…@db.internal/screenhook
    Keys {
        #[command(flatten)]
        database: SubcommandDatabaseArgs,
        #[command(subcommand)]
        command: tools::KeysCommand,
    },
    /// Create, list, rename, disable and enable companies (tenants), on SQLite or PostgreSQL.
    ///
    /// Example: screenhook companies create acme --name "Acme Corp"
    /// Example: screenhook companies disable acme
    Companies {
        #[command(flatten)]
        database: SubcommandDatabaseArgs,
        #[command(subcommand)]
        command: tools::CompaniesCommand,
    },
    /// Make a key for sealing webhook secrets and session tokens at rest, or reseal them under
    /// the current key (see docs/OPERATIONS.md, "Secrets at rest"). Every server start reseals too.
    ///
    /// Example: screenhook secrets generate-key
    /// Example: SCREENHOOK_SECRETS__KEY=… SCREENHOOK_SECRETS__PREVIOUS_KEYS=… screenhook secrets reseal
    Secrets {
        #[command(flatten)]
        database: SubcommandDatabaseArgs,
        #[command(subcommand)]
        command: tools::SecretsCommand,
    },
    /// Measure throughput on this machine (see docs/PERFORMANCE.md).
    ///
    /// Example: screenhook bench deliveries --events 20000 --concurrency 64
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Receive webhooks locally: one line per notification, both signatures checked.
    ///
    /// Prints the time, event, session (or assessment, interview) id, key fields such as the
    /// candidate's email and score, the webhook-id (repeats are flagged: retries reuse it) and
    /// ✓/✗ for X-CodeSignal-Signature and webhook-signature. Answers 200, or 500 to
    /// --fail-ratio of the requests to rehearse retries. X-CodeSignal-Signature signs the URL
    /// configured on the webhook, so behind a tunnel pass that public URL as --url.
    ///
    /// Example: screenhook listen --port 8741 --secret "$SECRET" --url https://abc.ngrok.app/hooks --fail-ratio 0.2
    Listen(listen::ListenArgs),
    /// Check one delivery's signatures from its headers, the webhook's URL and the body.
    ///
    /// Checks X-CodeSignal-Signature (HMAC of URL + event + triggeredOn) and the Standard
    /// Webhooks webhook-signature (HMAC of id.timestamp.body, within ±5 min unless
    /// --ignore-timestamp), says why each fails, and exits non-zero on any failure.
    ///
    /// Example: screenhook verify --secret "$SECRET" --url https://example.com/hooks --headers headers.txt --body body.json
    Verify(verify::VerifyArgs),
    /// Test a webhook endpoint: every event type, a duplicate, an out-of-order pair, a forged
    /// signature, a stale timestamp and a malformed body, then a report.
    ///
    /// Prints what was sent, the status and latency, what a correct receiver answers and a
    /// verdict; exits non-zero when the endpoint refuses a valid delivery or accepts (2xx) a
    /// forgery or a replay. It sends from this machine to the URL given, without the server's
    /// SSRF guard: point it only at endpoints you own.
    ///
    /// Example: screenhook check-receiver https://example.com/hooks --secret "$SECRET"
    CheckReceiver(check_receiver::CheckReceiverArgs),
    /// Drive every path of the lifecycle against a server and check each path's notifications.
    ///
    /// For the sandbox company of the server at --url (this one or a remote one): creates
    /// Pre-Screens, invites a fresh candidate per path, acts as the candidate through the
    /// invitation link and as the proctor through the API key, advances the sandbox clock for
    /// expiries, and checks that each path's events were delivered, in the lifecycle table's
    /// order, with valid X-CodeSignal-Signature and webhook-signature. Deliveries go to a new
    /// inspector bin unless --webhook-url is given. Shows each notification as it is fired and
    /// delivered, ends with a table per path, and exits non-zero when any path fails.
    ///
    /// Example: SCREENHOOK_API_KEY=sk_… screenhook simulate --url http://127.0.0.1:8740 --path declined --path "never started"
    Simulate(simulate::SimulateArgs),
    /// The Certify transition: Step 1 (are the company's Certify assessments proctored? with
    /// each Certified Evaluation's latest Coding Report as evidence), Step 2 (the Pre-Screen
    /// notifications to listen to), and the plan for its webhooks; --apply applies it.
    ///
    /// Applying pings every webhook it changes or creates first; if any endpoint fails, nothing
    /// is applied. Certify subscriptions are kept unless --drop-legacy.
    ///
    /// Example: screenhook advise --company sandbox
    /// Example: screenhook advise --apply --drop-legacy
    Advise(advise::AdviseArgs),
    /// Import a Certify export (JSON Lines) into a company: its certification tests become
    /// Certified Evaluations and its requests sessions with their results, with no webhooks
    /// sent. Idempotent: a second run skips what the first imported. Exits 2 when some lines
    /// were refused (the others are imported).
    ///
    /// Example: screenhook import-certify certify-export.jsonl --dry-run
    /// Example: screenhook import-certify certify-export.jsonl --company acme --database-url postgres://…
    ImportCertify(import_certify::ImportCertifyArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Committed lifecycle transitions/s, each with its outbox event, on durable SQLite.
    ///
    /// Example: screenhook bench transitions --seconds 10 --concurrency 256
    Transitions(bench::TransitionsArgs),
    /// Events fired through the GraphQL API and delivered to a local receiver: throughput,
    /// fired→delivered latency and server CPU per event; or, with --drain, a backlog drain.
    ///
    /// Example: screenhook bench deliveries --events 20000 --concurrency 64
    Deliveries(bench::DeliveriesArgs),
    /// Imports a generated Certify export through `import-certify`: lines/s and peak RSS.
    ///
    /// Example: screenhook bench certify-import --lines 1000000
    CertifyImport(bench::CertifyImportArgs),
}

/// Where the configuration comes from, besides the defaults and SCREENHOOK_* variables.
#[derive(Debug, clap::Args)]
struct ConfigSource {
    /// A TOML file overriding the defaults (see `screenhook config --defaults`).
    #[arg(long, env = "SCREENHOOK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The database a tool works on: the configuration's, or one named on the command line.
#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    #[command(flatten)]
    source: ConfigSource,
    /// SQLite database file (overrides database.path).
    #[arg(long, value_name = "FILE")]
    database: Option<PathBuf>,
    /// PostgreSQL database URL (overrides database.url).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

/// [`DatabaseArgs`] for a command with subcommands, accepted before or after the subcommand.
#[derive(Debug, clap::Args)]
struct SubcommandDatabaseArgs {
    /// A TOML file overriding the defaults (see `screenhook config --defaults`).
    #[arg(long, global = true, env = "SCREENHOOK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// SQLite database file (overrides database.path).
    #[arg(long, global = true, value_name = "FILE")]
    database: Option<PathBuf>,
    /// PostgreSQL database URL (overrides database.url).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
}

impl From<SubcommandDatabaseArgs> for DatabaseArgs {
    fn from(args: SubcommandDatabaseArgs) -> DatabaseArgs {
        DatabaseArgs {
            source: ConfigSource { config: args.config },
            database: args.database,
            database_url: args.database_url,
        }
    }
}

impl DatabaseArgs {
    fn config(&self) -> anyhow::Result<config::Config> {
        let mut overrides = Vec::new();
        if let Some(database) = &self.database {
            overrides.push(("SCREENHOOK_DATABASE__PATH".to_owned(), database.display().to_string()));
        }
        if let Some(url) = &self.database_url {
            overrides.push(("SCREENHOOK_DATABASE__URL".to_owned(), url.clone()));
        }
        load_config(&self.source, overrides)
    }
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    source: ConfigSource,
    /// Address to listen on (overrides server.listen).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// SQLite database file (overrides database.path).
    #[arg(long, value_name = "FILE")]
    database: Option<PathBuf>,
    /// PostgreSQL database URL (overrides database.url; SQLite is used when it is empty).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// What this process runs (overrides server.role): `all`, `api` (HTTP API only) or
    /// `worker` (scheduler, delivery and owner emails only; health checks still answer).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    #[command(flatten)]
    source: ConfigSource,
    /// PostgreSQL database URL (overrides database.url).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Migrate(args) => serve::migrate(args),
        Command::Config { defaults: true, .. } => {
            print!("{}", config::DEFAULTS);
            Ok(())
        }
        Command::Config { defaults: false, source } => {
            load_config(&source, Vec::new()).map(|config| println!("{:#?}", config.redacted()))
        }
        Command::Lifecycle { format } => {
            tools::print_lifecycle(format);
            Ok(())
        }
        Command::Keys { database, command } => tools::run_keys(&database.into(), command),
        Command::Companies { database, command } => tools::run_companies(&database.into(), command),
        Command::Secrets { database, command } => tools::run_secrets(&database.into(), command),
        Command::Bench(BenchCommand::Transitions(args)) => bench::transitions(args),
        Command::Listen(args) => listen::run(args),
        Command::Verify(args) => verify::run(args),
        Command::CheckReceiver(args) => check_receiver::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Advise(args) => advise::run(args),
        Command::ImportCertify(args) => match import_certify::run(args) {
            Ok(code) => return code,
            Err(err) => Err(err),
        },
        Command::Bench(BenchCommand::Deliveries(args)) => bench::deliveries(args),
        Command::Bench(BenchCommand::CertifyImport(args)) => bench::certify_import(args),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the layered configuration; `overrides` are command-line flags, applied last, as
/// `(SCREENHOOK_SECTION__KEY, value)` pairs.
fn load_config(source: &ConfigSource, overrides: Vec<(String, String)>) -> anyhow::Result<config::Config> {
    let env = std::env::vars().chain(overrides);
    Ok(config::Config::load(source.config.as_deref(), env)?)
}
