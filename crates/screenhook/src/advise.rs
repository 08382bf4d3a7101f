//! `screenhook advise`: the Certify transition's Steps 1 and 2 for a company and the plan for
//! its webhooks, printed; with `--apply`, applied through the verification ping (all or
//! nothing), as the console's Integrations → Certify transition page does.

use std::sync::Arc;

use anyhow::{Context, bail};
use screenhook_delivery::{PlanApplied, WebhookManager};
use screenhook_domain::{
    CompanyId, EventKind, Millis,
    advisor::{Advice, PlanAction, PlanOptions, Step1},
};
use screenhook_engine::{Clock, Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_webhooks::Sender;

use screenhook::app;

use crate::DatabaseArgs;

#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The company to advise.
    #[arg(long, default_value = bootstrap::SANDBOX_COMPANY)]
    company: String,
    /// Plan to remove the Certify subscriptions too (kept by default: the legacy bridge keeps
    /// Certify listeners working until the integration reads Pre-Screen payloads).
    #[arg(long)]
    drop_legacy: bool,
    /// Apply the plan: each webhook it changes or creates gets the verification ping first,
    /// and if any endpoint fails, nothing is applied.
    #[arg(long)]
    apply: bool,
    /// The endpoint of the webhook the plan creates when none listens to results yet.
    #[arg(long, value_name = "URL")]
    new_webhook_url: Option<String>,
    /// Print the advice as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AdviseArgs) -> anyhow::Result<()> {
    let config = args.database.config()?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let store = app::open_store(&config, false, false).await?;
        let company = CompanyId::parse(&args.company).map_err(|err| anyhow::anyhow!("--company: {err}"))?;
        if store.company(&company).await?.is_none() {
            bail!("--company: there is no company {company} in this database");
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            EngineConfig { public_url: config.public_url(), integrity_review_delay: Millis::from_millis(0) },
        );
        let advice = engine.certify_advice(&company, PlanOptions { drop_legacy: args.drop_legacy }).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&to_json(&advice))?);
        } else {
            print!("{}", to_text(&advice));
        }
        if !args.apply {
            if !advice.is_up_to_date() && !args.json {
                println!("\nRun again with --apply to apply this plan.");
            }
            return Ok(());
        }
        let sender = Sender::new(app::sender_config(&config)).context("building the HTTP client for the pings")?;
        let manager = WebhookManager::new(store, sender, clock);
        let applied = manager.apply_plan(&company, &advice, args.new_webhook_url.as_deref()).await?;
        eprintln!("{}", applied_text(&applied));
        Ok(())
    })
}

fn names(events: &[EventKind]) -> String {
    events.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

fn step1_text(step1: Step1) -> &'static str {
    match step1 {
        Step1::Proctored => "Yes: every Certified Evaluation's most recent Coding Report reads \"Proctored: Yes\"",
        Step1::NotProctored => "No: every Certified Evaluation's most recent Coding Report reads \"Proctored: No\"",
        Step1::Mixed => "Some are and some are not: listen to both of Step 2's lists",
        Step1::NoCertifiedEvaluations => "There are no Certified Evaluations: nothing reaches Certify listeners",
    }
}

fn to_text(advice: &Advice) -> String {
    let mut out = format!("Step 1: are your Certify assessments proctored? {}.\n", step1_text(advice.step1));
    for test in &advice.tests {
        let setting = if test.proctored_setting { "proctored" } else { "not proctored" };
        let evidence = match &test.latest {
            Some(latest) => format!(
                "latest result {} by {}: Proctored: {}",
                latest.session_id,
                latest.candidate,
                if latest.proctored { "Yes" } else { "No" }
            ),
            None => "no result yet, counted by its setting".to_owned(),
        };
        out += &format!("  {} ({}, {setting}): {evidence}\n", test.title, test.framework);
    }
    out += &format!("Step 2: listen to {}.\n", names(&advice.recommended));
    let kept = if advice.options.drop_legacy { "dropped" } else { "kept (--drop-legacy drops them)" };
    out += &format!("Plan (Certify subscriptions {kept}):\n");
    if advice.webhooks.is_empty() {
        out += "  no webhooks\n";
    }
    for plan in &advice.webhooks {
        let action = match plan.action {
            PlanAction::Update => "will change",
            PlanAction::UpToDate => "up to date",
            PlanAction::OutOfScope => "not a results webhook: left alone",
        };
        out += &format!("  {} {}: {action}\n", plan.webhook_id, plan.url);
        for legacy in &plan.legacy {
            out += &format!("    still uses {} -> replaced by {}\n", legacy.certify.name(), names(&legacy.replaced_by));
        }
        if !plan.missing.is_empty() {
            out += &format!("    adds {}\n", names(&plan.missing));
        }
        if !plan.dropped.is_empty() {
            out += &format!("    drops {}\n", names(&plan.dropped));
        }
        if plan.action == PlanAction::Update {
            out += &format!("    afterwards {}\n", names(&plan.events_after));
        }
    }
    if let Some(events) = &advice.new_webhook {
        out += &format!("  a new webhook (give --new-webhook-url) for {}\n", names(events));
    }
    if advice.is_up_to_date() {
        out += "Nothing to apply: the webhooks already listen to Step 2's notifications.\n";
    }
    out
}

fn to_json(advice: &Advice) -> serde_json::Value {
    let list = |events: &[EventKind]| events.iter().map(|e| e.name()).collect::<Vec<_>>();
    serde_json::json!({
        "step1": advice.step1.as_str(),
        "tests": advice.tests.iter().map(|t| serde_json::json!({
            "testId": t.test_id.as_str(),
            "title": t.title,
            "frameworkId": t.framework.as_str(),
            "proctoredSetting": t.proctored_setting,
            "proctored": t.proctored(),
            "latestResult": t.latest.as_ref().map(|l| serde_json::json!({
                "testSessionId": l.session_id.as_str(),
                "candidateName": l.candidate,
                "finishDate": l.finished_at.as_millis(),
                "proctored": l.proctored,
            })),
        })).collect::<Vec<_>>(),
        "recommendedEvents": list(&advice.recommended),
        "dropLegacy": advice.options.drop_legacy,
        "webhooks": advice.webhooks.iter().map(|p| serde_json::json!({
            "webhookId": p.webhook_id.as_str(),
            "url": p.url,
            "action": p.action.as_str(),
            "legacy": p.legacy.iter().map(|l| serde_json::json!({
                "certifyEvent": l.certify.name(),
                "replacedBy": list(&l.replaced_by),
            })).collect::<Vec<_>>(),
            "missing": list(&p.missing),
            "dropped": list(&p.dropped),
            "eventsAfter": list(&p.events_after),
        })).collect::<Vec<_>>(),
        "newWebhookEvents": advice.new_webhook.as_deref().map(list),
        "upToDate": advice.is_up_to_date(),
    })
}

fn applied_text(applied: &PlanApplied) -> String {
    let mut lines = Vec::new();
    for (webhook, _) in &applied.updated {
        lines.push(format!("updated {} {}: {}", webhook.id, webhook.url, names(&webhook.events)));
    }
    if let Some((webhook, _)) = &applied.created {
        lines.push(format!(
            "created {} {}: {} (its secret: {})",
            webhook.id,
            webhook.url,
            names(&webhook.events),
            webhook.secret.as_deref().unwrap_or("none")
        ));
    }
    if lines.is_empty() {
        "Nothing was applied: nothing to change.".to_owned()
    } else {
        format!("Applied:\n  {}", lines.join("\n  "))
    }
}
