//! Small subcommands: the lifecycle diagram, API keys and companies.

use anyhow::{Context, bail};
use screenhook_domain::{
    CompanyId, Permission,
    lifecycle::{EDGES, PATHS, to_mermaid, to_svg},
};
use screenhook_engine::{
    Clock, SystemClock,
    companies::{self, CompanyChange},
    keys,
};
use serde_json::json;

use screenhook::app;

use crate::DatabaseArgs;

/// How `screenhook lifecycle` prints the state machine.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LifecycleFormat {
    /// A Mermaid state diagram (paste into any Mermaid renderer).
    Mermaid,
    /// The diagram drawn as a self-contained SVG picture (open it in a browser).
    Svg,
    /// One line per transition, then the seven paths and their events.
    Text,
    /// Transitions and paths as JSON, for tools.
    Json,
}

pub fn print_lifecycle(format: LifecycleFormat) {
    match format {
        LifecycleFormat::Mermaid => print!("{}", to_mermaid()),
        LifecycleFormat::Svg => print!("{}", to_svg()),
        LifecycleFormat::Text => {
            println!("Transitions (from --command [actor]--> to: events):");
            for edge in EDGES {
                let events: Vec<_> = edge.events.iter().map(|e| e.name()).collect();
                println!(
                    "  {:<28} --{} [{}]--> {:<28} {}",
                    edge.from.name(),
                    edge.command.as_str(),
                    edge.command.actor().as_str(),
                    edge.to.name(),
                    if events.is_empty() { "(no event)".to_owned() } else { events.join(", ") }
                );
            }
            println!();
            println!("Paths:");
            for path in PATHS {
                let events: Vec<_> = path.events.iter().map(|e| e.name()).collect();
                println!("  {}: {}", path.name, events.join(" → "));
            }
        }
        LifecycleFormat::Json => {
            let edges: Vec<_> = EDGES
                .iter()
                .map(|edge| {
                    json!({
                        "from": edge.from.name(),
                        "command": edge.command.as_str(),
                        "actor": edge.command.actor().as_str(),
                        "to": edge.to.name(),
                        "events": edge.events.iter().map(|e| e.name()).collect::<Vec<_>>(),
                        "spawnsSession": edge.spawns,
                    })
                })
                .collect();
            let paths: Vec<_> = PATHS
                .iter()
                .map(|path| {
                    json!({
                        "name": path.name,
                        "proctored": path.proctored,
                        "certifiedEvaluation": path.certified,
                        "events": path.events.iter().map(|e| e.name()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{:#}", json!({ "transitions": edges, "paths": paths }));
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Print a fresh key (32 random bytes, base64) for secrets.key.
    GenerateKey,
    /// Rewrite every webhook secret and session token not sealed under secrets.key (sealed
    /// under one of secrets.previous_keys, or stored before sealing) and say how many changed.
    Reseal,
}

pub fn run_secrets(database: &DatabaseArgs, command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::GenerateKey => {
            println!("{}", screenhook_store::SecretKeys::generate());
            Ok(())
        }
        SecretsCommand::Reseal => {
            let config = database.config()?;
            let keys = config.secret_keys()?;
            if let Some(why) = keys.missing() {
                bail!("{why}");
            }
            let key = keys.current_id().to_owned();
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                let store = app::open_store(&config, false, false).await?;
                let resealed = app::reseal(&*store, &key).await?;
                let (webhooks, sessions) = (resealed.webhooks, resealed.sessions);
                let database = app::database_label(&config);
                println!("{webhooks} webhook(s) and {sessions} session(s) resealed under key {key} in {database}");
                Ok(())
            })
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a key; it is printed once and only its hash is stored.
    ///
    /// Example: screenhook keys create --company sandbox --permissions tests,sessions,results
    Create {
        /// The company the key acts for.
        #[arg(long, default_value = "sandbox")]
        company: String,
        /// Comma-separated: tests, sessions, results, webhooks, admin, proctor.
        #[arg(long, value_delimiter = ',', default_value = "tests,sessions,results,webhooks")]
        permissions: Vec<String>,
        /// What the key is for (shown in listings).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List a company's keys (public ids and permissions; never secrets).
    List {
        #[arg(long, default_value = "sandbox")]
        company: String,
    },
    /// Revoke a key by its public id (the part after `sk_`, before the next `_`).
    Revoke {
        #[arg(long, default_value = "sandbox")]
        company: String,
        public_id: String,
    },
}

pub fn run_keys(database: &DatabaseArgs, command: KeysCommand) -> anyhow::Result<()> {
    let config = database.config()?;
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        let store = app::open_store(&config, false, false).await?;
        let database = app::database_label(&config);
        let company_of = |raw: &str| -> anyhow::Result<CompanyId> {
            let id = CompanyId::parse(raw).map_err(|err| anyhow::anyhow!("--company: {err}"))?;
            Ok(id)
        };
        match command {
            KeysCommand::Create { company, permissions, description } => {
                let company = company_of(&company)?;
                if store.company(&company).await?.is_none() {
                    bail!("--company: no company {company} in {database}");
                }
                let permissions = permissions
                    .iter()
                    .map(|raw| {
                        Permission::parse(raw.trim()).with_context(|| {
                            format!("--permissions: unknown permission {raw:?}; allowed: tests, sessions, results, webhooks, admin, proctor")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let issued = keys::issue(&*store, &company, &description, permissions, SystemClock.now()).await?;
                println!("{}", issued.token);
                eprintln!("Shown only this once; only its hash is stored.");
            }
            KeysCommand::List { company } => {
                for key in store.api_keys(&company_of(&company)?).await? {
                    let permissions: Vec<_> = key.permissions.iter().map(|p| p.as_str()).collect();
                    let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                    println!("{}\t{}\t{}\t{}", key.public_id, state, permissions.join(","), key.description);
                }
            }
            KeysCommand::Revoke { company, public_id } => {
                if !store.revoke_api_key(&company_of(&company)?, &public_id, SystemClock.now()).await? {
                    bail!("no live key {public_id} for company {company}");
                }
                println!("revoked {public_id}");
            }
        }
        Ok(())
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum CompaniesCommand {
    /// Create a company and its first key (every permission), printed once.
    ///
    /// Example: screenhook companies create acme --name "Acme Corp"
    Create {
        /// The company's id: letters, digits, `-` and `_`.
        id: String,
        /// What people call it (1 to 200 characters).
        #[arg(long)]
        name: String,
        /// A sandbox company: its clock may be advanced by the simulator. Chosen at creation.
        #[arg(long)]
        sandbox: bool,
    },
    /// List every company: id, state, kind, name.
    List,
    /// Rename a company.
    Rename {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Refuse the company's API keys, console sessions and candidate links (accepted work is
    /// still delivered) until it is enabled again.
    Disable { id: String },
    /// Let a disabled company in again.
    Enable { id: String },
}

pub fn run_companies(database: &DatabaseArgs, command: CompaniesCommand) -> anyhow::Result<()> {
    let config = database.config()?;
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        let store = app::open_store(&config, false, false).await?;
        let id_of = |raw: &str| CompanyId::parse(raw).map_err(|err| anyhow::anyhow!("company id: {err}"));
        let now = SystemClock.now();
        let (id, change) = match command {
            CompaniesCommand::Create { id, name, sandbox } => {
                let (company, key) = companies::create(&*store, &id_of(&id)?, &name, sandbox, now).await?;
                let kind = if company.sandbox { "sandbox" } else { "production" };
                eprintln!(
                    "Created the {kind} company {} ({}). Its first admin key, shown only this once:",
                    company.id, company.name
                );
                println!("{}", key.token);
                return Ok(());
            }
            CompaniesCommand::List => {
                for company in store.companies().await? {
                    let state = if company.disabled_at.is_some() { "disabled" } else { "active" };
                    let kind = if company.sandbox { "sandbox" } else { "production" };
                    println!("{}\t{state}\t{kind}\t{}", company.id, company.name);
                }
                return Ok(());
            }
            CompaniesCommand::Rename { id, name } => (id, CompanyChange::Rename(name)),
            CompaniesCommand::Disable { id } => (id, CompanyChange::Disable),
            CompaniesCommand::Enable { id } => (id, CompanyChange::Enable),
        };
        let company = companies::change(&*store, &id_of(&id)?, &[change], now).await?;
        let state = if company.disabled_at.is_some() { "disabled" } else { "active" };
        println!("{}\t{state}\t{}", company.id, company.name);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lifecycle_document_shows_the_current_state_machine() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/LIFECYCLE.md")).unwrap();
        assert!(
            doc.contains(&screenhook_domain::lifecycle::to_mermaid()),
            "docs/LIFECYCLE.md is out of date: paste the output of `screenhook lifecycle --format mermaid`"
        );
    }
}
