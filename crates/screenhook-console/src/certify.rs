//! Integrations → Certify transition: the transition guide's Step 1 (are my Certify assessments
//! proctored?) with its evidence, Step 2 (which notifications to listen to), the plan against this
//! company's webhooks, and applying it; plus the conversion table the plan follows.
//!
//! The page shows a plan and the apply form carries its fingerprint: if the plan changed in
//! between (a webhook edited, a result arrived), applying refuses and shows the new plan, so
//! what is applied is what the user read.
//!
//! An admin can also upload a Certify export here: it is imported as `screenhook import-certify`
//! imports it (streamed from the upload, each line whole or refused, no webhooks), and the page
//! shows the report.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, Query, State},
    response::IntoResponse,
};
use futures_util::TryStreamExt;
use screenhook_delivery::{ApplyError, PlanApplied};
use screenhook_domain::{
    Permission,
    advisor::{Advice, PlanAction, PlanOptions, Step1},
    certify,
};
use screenhook_engine::certify_import::{ImportError, ImportOptions, ImportReport, Tally};
use serde::Deserialize;
use tokio_util::io::StreamReader;

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    form::Posted,
    view::{Nav, Notice, when},
};

/// The largest export the page accepts; larger ones go through `screenhook import-certify`.
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

#[derive(Template, WebTemplate)]
#[template(path = "certify.html")]
struct CertifyPage {
    nav: Nav,
    notice: Option<Notice>,
    rows: Vec<(Option<&'static str>, &'static str, bool)>,
    /// Step 1 and 2 need results; the plan needs webhooks.
    show_step1: bool,
    show_plan: bool,
    advice: Option<AdviceView>,
    drop_legacy: bool,
    new_webhook_url: String,
    /// Importing needs the admin permission.
    show_import: bool,
    import: Option<ImportView>,
}

/// An import's report: a row per kind, notes, and the refused lines.
struct ImportView {
    dry_run: bool,
    lines: u64,
    rows: Vec<(&'static str, Tally)>,
    notes: Vec<String>,
    refused: u64,
    refusals: Vec<String>,
}

impl ImportView {
    fn of(report: &ImportReport) -> ImportView {
        let mut notes = Vec::new();
        if report.practice_tests > 0 {
            notes
                .push(format!("{} practice tests skipped: they had no certification requests.", report.practice_tests));
        }
        if report.unreadable > 0 {
            notes.push(format!("{} lines refused before their kind could be read.", report.unreadable));
        }
        if report.changed_nothing() && report.refused() == 0 {
            notes.push("Nothing to import: every line had been imported before.".to_owned());
        }
        if !report.dry_run && !report.changed_nothing() {
            notes.push("No webhooks were sent for imported history.".to_owned());
        }
        if report.refused() > report.refusals.len() as u64 {
            notes.push(format!("The first {} refused lines are listed.", report.refusals.len()));
        }
        ImportView {
            dry_run: report.dry_run,
            lines: report.lines,
            rows: vec![("Tests", report.tests), ("Requests", report.requests), ("Results", report.results)],
            notes,
            refused: report.refused(),
            refusals: report.refusals.iter().map(ToString::to_string).collect(),
        }
    }
}

struct AdviceView {
    answer: &'static str,
    answer_class: &'static str,
    explanation: &'static str,
    tests: Vec<TestRow>,
    recommended: Vec<&'static str>,
    webhooks: Vec<PlanRow>,
    new_webhook: Option<Vec<&'static str>>,
    up_to_date: bool,
    fingerprint: String,
}

struct TestRow {
    title: String,
    test_id: String,
    framework: String,
    setting: bool,
    latest: Option<(String, String, String, bool)>,
    proctored: bool,
}

struct PlanRow {
    id: String,
    url: String,
    action: &'static str,
    action_class: &'static str,
    legacy: Vec<(&'static str, Vec<&'static str>)>,
    missing: Vec<&'static str>,
    dropped: Vec<&'static str>,
    after: Vec<&'static str>,
}

fn names(events: &[screenhook_domain::EventKind]) -> Vec<&'static str> {
    events.iter().map(|e| e.name()).collect()
}

fn view(advice: &Advice) -> AdviceView {
    let (answer, answer_class, explanation) = match advice.step1 {
        Step1::Proctored => (
            "Yes: your Certify assessments are proctored",
            "ok",
            "Every Certified Evaluation's most recent Coding Report reads “Proctored: Yes”.",
        ),
        Step1::NotProctored => (
            "No: your Certify assessments are not proctored",
            "ok",
            "Every Certified Evaluation's most recent Coding Report reads “Proctored: No”.",
        ),
        Step1::Mixed => (
            "Some are proctored and some are not",
            "warn",
            "Listen to both of Step 2's lists, so that results of either kind reach you.",
        ),
        Step1::NoCertifiedEvaluations => (
            "No Certified Evaluations yet",
            "",
            "Nothing reaches Certify listeners. The non-proctored list still covers invitations and results \
             of custom Pre-Screens.",
        ),
    };
    let tests = advice
        .tests
        .iter()
        .map(|t| TestRow {
            title: t.title.clone(),
            test_id: t.test_id.to_string(),
            framework: t.framework.to_string(),
            setting: t.proctored_setting,
            latest: t
                .latest
                .as_ref()
                .map(|l| (l.session_id.to_string(), l.candidate.clone(), when(l.finished_at), l.proctored)),
            proctored: t.proctored(),
        })
        .collect();
    let webhooks = advice
        .webhooks
        .iter()
        .map(|p| PlanRow {
            id: p.webhook_id.to_string(),
            url: p.url.clone(),
            action: match p.action {
                PlanAction::Update => "will change",
                PlanAction::UpToDate => "up to date",
                PlanAction::OutOfScope => "not a results webhook: left alone",
            },
            action_class: match p.action {
                PlanAction::Update => "warn",
                PlanAction::UpToDate => "ok",
                PlanAction::OutOfScope => "",
            },
            legacy: p.legacy.iter().map(|l| (l.certify.name(), names(&l.replaced_by))).collect(),
            missing: names(&p.missing),
            dropped: names(&p.dropped),
            after: names(&p.events_after),
        })
        .collect();
    AdviceView {
        answer,
        answer_class,
        explanation,
        tests,
        recommended: names(&advice.recommended),
        webhooks,
        new_webhook: advice.new_webhook.as_deref().map(names),
        up_to_date: advice.is_up_to_date(),
        fingerprint: advice.fingerprint(),
    }
}

async fn page(
    console: &Console,
    signed: &Signed,
    options: PlanOptions,
    notice: Option<Notice>,
    new_webhook_url: String,
) -> PageResult {
    page_with(console, signed, options, notice, new_webhook_url, None).await
}

async fn page_with(
    console: &Console,
    signed: &Signed,
    options: PlanOptions,
    notice: Option<Notice>,
    new_webhook_url: String,
    import: Option<ImportView>,
) -> PageResult {
    let show_step1 = signed.allows(Permission::Results);
    let show_plan = signed.allows(Permission::Webhooks);
    let advice = if show_step1 || show_plan {
        Some(view(&console.engine.certify_advice(&signed.company.id, options).await?))
    } else {
        None
    };
    let rows = certify::CONVERSION_TABLE
        .iter()
        .map(|row| (row.certify.map(|k| k.name()), row.prescreen.name(), row.proctored_only))
        .collect();
    Ok(CertifyPage {
        nav: Nav::new(signed, "certify"),
        notice,
        rows,
        show_step1,
        show_plan,
        advice,
        drop_legacy: options.drop_legacy,
        new_webhook_url,
        show_import: signed.allows(Permission::Admin),
        import,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    #[serde(default, rename = "dropLegacy")]
    drop_legacy: Option<String>,
}

/// `GET /integrations/certify[?dropLegacy=1]`.
pub async fn show(State(console): State<Console>, signed: Signed, Query(q): Query<PlanQuery>) -> PageResult {
    let options = PlanOptions { drop_legacy: q.drop_legacy.is_some_and(|v| !v.is_empty() && v != "0") };
    page(&console, &signed, options, None, String::new()).await
}

/// `POST /integrations/certify/apply`: applies the plan the page showed.
pub async fn apply(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Webhooks)?;
    let options = PlanOptions { drop_legacy: fields.checked("dropLegacy") };
    let url = fields.get("newWebhookUrl").map(str::trim).unwrap_or_default().to_owned();
    let advice = console.engine.certify_advice(&signed.company.id, options).await?;
    if fields.get("plan") != Some(advice.fingerprint().as_str()) {
        let notice = Notice::bad(
            "The plan changed since the page was shown, so nothing was applied. Here is the new plan: review it and apply again.",
        );
        return page(&console, &signed, options, notice, url).await;
    }
    let new_url = (!url.is_empty()).then_some(url.as_str());
    let notice = match console.webhooks.apply_plan(&signed.company.id, &advice, new_url).await {
        Ok(applied) => Notice::ok(summary(&applied)),
        Err(ApplyError::Manage(err @ screenhook_delivery::ManageError::Store(_))) => return Err(err.into()),
        Err(refused) => Notice::bad(refused.to_string()),
    };
    let kept = if notice.as_ref().is_some_and(|n| n.kind == "bad") { url } else { String::new() };
    page(&console, &signed, options, notice, kept).await
}

fn summary(applied: &PlanApplied) -> String {
    let mut parts = Vec::new();
    if !applied.updated.is_empty() {
        let urls: Vec<&str> = applied.updated.iter().map(|(w, _)| w.url.as_str()).collect();
        parts.push(format!("updated {} webhook(s): {}", urls.len(), urls.join(", ")));
    }
    if let Some((webhook, _)) = &applied.created {
        parts.push(format!("created webhook {} for {} (its secret is on its page)", webhook.id, webhook.url));
    }
    if parts.is_empty() {
        "Nothing to apply: every webhook already listens to the recommended notifications.".to_owned()
    } else {
        format!("Plan applied, each endpoint answered its verification ping: {}.", parts.join("; "))
    }
}

/// `POST /integrations/certify/import`: multipart with `_csrf`, `dryRun` and then the file
/// `export` (in that order, as the page's form sends them), imported as it streams in.
pub async fn import(State(console): State<Console>, signed: Signed, mut form: Multipart) -> PageResult {
    signed.require(Permission::Admin)?;
    let unreadable = |err: axum::extract::multipart::MultipartError| {
        Failure::BadRequest(format!("The upload could not be read: {}", err.body_text()))
    };
    let (mut csrf, mut dry_run) = (false, false);
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("_csrf") => csrf = signed.check_csrf(field.text().await.map_err(unreadable)?.trim()),
            Some("dryRun") => dry_run = true,
            Some("export") => {
                if !csrf {
                    return Err(Failure::Csrf);
                }
                if field.file_name().is_none_or(str::is_empty) {
                    let notice = Notice::bad("Choose a Certify export file (JSON Lines) to import.");
                    return page(&console, &signed, PlanOptions::default(), notice, String::new()).await;
                }
                let options = ImportOptions { company: signed.company.id.clone(), dry_run };
                let input = StreamReader::new(field.map_err(std::io::Error::other));
                let notice = match console.engine.import_certify(input, &options, &mut ()).await {
                    Ok(report) => {
                        let view = ImportView::of(&report);
                        let notice = match (report.refused(), report.dry_run) {
                            (0, true) => Notice::ok("Checked: nothing was written (dry run)."),
                            (0, false) => Notice::ok("Imported."),
                            (1, _) => Notice::bad(
                                "1 line was refused and nothing of it was written; fix it and upload the file again (what was imported is skipped).",
                            ),
                            (n, _) => Notice::bad(format!(
                                "{n} lines were refused and nothing of them was written; fix them and upload the file again (what was imported is skipped)."
                            )),
                        };
                        return page_with(&console, &signed, PlanOptions::default(), notice, String::new(), Some(view))
                            .await;
                    }
                    Err(ImportError::Engine(err)) => return Err(err.into()),
                    Err(err @ ImportError::Read { .. }) => {
                        Notice::bad(format!("{err}. What was imported before stays; upload the file again to finish."))
                    }
                };
                return page(&console, &signed, PlanOptions::default(), notice, String::new()).await;
            }
            _ => {}
        }
    }
    Err(Failure::BadRequest("The form had no export file.".into()))
}
