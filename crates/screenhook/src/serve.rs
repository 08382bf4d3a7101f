//! `screenhook serve`: builds the [`App`] from the configuration, prints the sandbox key a
//! fresh database was given, binds `server.listen` and runs until Ctrl-C or SIGTERM; and
//! `screenhook migrate`.

use anyhow::Context;
use screenhook::{App, app};
use tokio_util::sync::CancellationToken;

use crate::{MigrateArgs, ServeArgs, config::Config, load_config};

/// `screenhook migrate`: applies the configured database's pending migrations and exits.
pub fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(url) = args.database_url {
        overrides.push(("SCREENHOOK_DATABASE__URL".to_owned(), url));
    }
    let config = load_config(&args.source, overrides)?;
    init_logging(&config);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        app::open_store(&config, true, false).await?;
        println!("The database {} is up to date.", app::database_label(&config));
        Ok(())
    })
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(listen) = args.listen {
        overrides.push(("SCREENHOOK_SERVER__LISTEN".to_owned(), listen));
    }
    if let Some(database) = args.database {
        overrides.push(("SCREENHOOK_DATABASE__PATH".to_owned(), database.display().to_string()));
    }
    if let Some(url) = args.database_url {
        overrides.push(("SCREENHOOK_DATABASE__URL".to_owned(), url));
    }
    if let Some(role) = args.role {
        overrides.push(("SCREENHOOK_SERVER__ROLE".to_owned(), role));
    }
    let config = load_config(&args.source, overrides)?;
    init_logging(&config);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_json() { builder.json().init() } else { builder.init() }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    if let Some(sandbox) = app.created_sandbox() {
        // Printed once, to stdout, so it can be captured; only its hash is stored.
        println!("Created the sandbox company '{}' and an API key with every permission:", sandbox.company);
        println!();
        println!("    {}", sandbox.key);
        println!();
        println!("It is shown only this once. Use it as: Authorization: Bearer <key>");
    }
    let listen = app.config().listen();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen} (server.listen)"))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    app.run(listener, shutdown).await
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
