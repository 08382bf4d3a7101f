//! Small subcommands: the lifecycle diagram and API keys.

use anyhow::{Context, bail};
use screenhook_domain::{
    CompanyId, Permission,
    lifecycle::{EDGES, PATHS, to_mermaid, to_svg},
};
use screenhook_engine::{Clock, SystemClock, keys};
use serde_json::json;

use crate::{DatabaseArgs, serve};

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
        let store = serve::open_store(&config, false, false).await?;
        let database = serve::database_label(&config);
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
