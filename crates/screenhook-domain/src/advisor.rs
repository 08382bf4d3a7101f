//! The Certify → Pre-Screen advisor: the transition guide's Step 1 (are my Certify assessments
//! proctored?) answered from a company's Certified Evaluations and their most recent results,
//! its Step 2 (which Pre-Screen notifications to listen to) for that answer, and a **plan**
//! against the company's webhooks: what each one subscribes to, which Certify events it still
//! relies on and what replaces them, what is missing, and the subscription it would have after
//! the plan.
//!
//! Pure: callers gather the evidence and the webhooks, [`advise`] decides. Applying a plan
//! (through the verification ping) is the webhook manager's job.

use std::collections::BTreeSet;

use crate::{
    certify::{STEP2_NOT_PROCTORED, STEP2_PROCTORED, replacements},
    event::EventKind,
    ids::{FrameworkId, SessionId, TestId, WebhookId},
    time::Timestamp,
    webhook::Webhook,
};

/// What Step 1 looks at for one Certified Evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEvidence {
    pub test_id: TestId,
    pub title: String,
    pub framework: FrameworkId,
    /// The test's own setting, for invitations sent from now on.
    pub proctored_setting: bool,
    /// Its most recently finished result, if any: what the guide tells customers to open.
    pub latest: Option<LatestResult>,
}

/// The most recent result of a test, as its Coding Report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestResult {
    pub session_id: SessionId,
    pub candidate: String,
    pub finished_at: Timestamp,
    /// The Coding Report's "Proctored: Yes/No".
    pub proctored: bool,
}

impl TestEvidence {
    /// Step 1's answer for this test: the Coding Report of its latest result when there is
    /// one (that is how the guide says to check), else the test's setting.
    pub fn proctored(&self) -> bool {
        self.latest.as_ref().map_or(self.proctored_setting, |latest| latest.proctored)
    }
}

/// Step 1 for the whole company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step1 {
    /// Every Certified Evaluation is proctored.
    Proctored,
    /// None is.
    NotProctored,
    /// Some are and some are not: listen to both lists.
    Mixed,
    /// The company has no Certified Evaluation, so nothing reaches Certify listeners.
    NoCertifiedEvaluations,
}

impl Step1 {
    pub fn of(tests: &[TestEvidence]) -> Step1 {
        let proctored = tests.iter().filter(|t| t.proctored()).count();
        match (proctored, tests.len()) {
            (_, 0) => Step1::NoCertifiedEvaluations,
            (0, _) => Step1::NotProctored,
            (p, n) if p == n => Step1::Proctored,
            _ => Step1::Mixed,
        }
    }

    /// The word of the CLI's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Step1::Proctored => "PROCTORED",
            Step1::NotProctored => "NOT_PROCTORED",
            Step1::Mixed => "MIXED",
            Step1::NoCertifiedEvaluations => "NO_CERTIFIED_EVALUATIONS",
        }
    }

    /// Step 2: the Pre-Screen events to listen to for this answer. Mixed companies need both
    /// of the guide's lists; with no Certified Evaluation the non-proctored list still covers
    /// custom Pre-Screens' invitations and results.
    pub fn recommended_events(self) -> Vec<EventKind> {
        let lists: &[&[EventKind]] = match self {
            Step1::Proctored => &[STEP2_PROCTORED],
            Step1::NotProctored | Step1::NoCertifiedEvaluations => &[STEP2_NOT_PROCTORED],
            Step1::Mixed => &[STEP2_PROCTORED, STEP2_NOT_PROCTORED],
        };
        let mut events: Vec<EventKind> = Vec::new();
        for event in lists.iter().flat_map(|list| list.iter()) {
            if !events.contains(event) {
                events.push(*event);
            }
        }
        events
    }
}

/// A Certify event a webhook still subscribes to, and the Pre-Screen events that replace it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySubscription {
    pub certify: EventKind,
    pub replaced_by: Vec<EventKind>,
}

/// What the plan does to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    /// Its subscription changes to [`WebhookPlan::events_after`].
    Update,
    /// It already listens to every recommended event (and keeps or has no legacy ones).
    UpToDate,
    /// It listens to none of the invitation and result events, Certify or Pre-Screen: it
    /// serves something else (assessments, live interviews) and the plan leaves it alone.
    OutOfScope,
}

impl PlanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Update => "UPDATE",
            PlanAction::UpToDate => "UP_TO_DATE",
            PlanAction::OutOfScope => "OUT_OF_SCOPE",
        }
    }
}

/// The plan for one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPlan {
    pub webhook_id: WebhookId,
    pub url: String,
    /// When the webhook was last changed: applying refuses a plan made before a later change.
    pub updated_at: Timestamp,
    pub events_before: Vec<EventKind>,
    pub legacy: Vec<LegacySubscription>,
    /// Recommended events it does not listen to yet.
    pub missing: Vec<EventKind>,
    /// Certify events the plan removes (only when asked to drop them).
    pub dropped: Vec<EventKind>,
    pub events_after: Vec<EventKind>,
    pub action: PlanAction,
}

/// How to plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Remove the Certify subscriptions too. Off by default: until the integration reads
    /// Pre-Screen payloads, the legacy bridge keeps its Certify listeners working.
    pub drop_legacy: bool,
}

/// Steps 1 and 2 and the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub tests: Vec<TestEvidence>,
    pub step1: Step1,
    pub recommended: Vec<EventKind>,
    pub webhooks: Vec<WebhookPlan>,
    /// When no webhook listens to invitation or result events at all: the events a new
    /// webhook needs (applying then asks for its URL).
    pub new_webhook: Option<Vec<EventKind>>,
    pub options: PlanOptions,
}

impl Advice {
    /// A digest of everything the plan would write and of what it would write over: a form
    /// or client that shows a plan sends it back with the apply, which is refused if the
    /// plan changed meanwhile. FNV-1a over the plan's text; it detects change, it guards no
    /// secret.
    pub fn fingerprint(&self) -> String {
        let mut text = String::from(self.step1.as_str());
        for plan in &self.webhooks {
            text += &format!("|{}@{}:", plan.webhook_id, plan.updated_at.as_millis());
            text += &names(&plan.events_before);
            text += ">";
            text += &names(&plan.events_after);
        }
        if let Some(events) = &self.new_webhook {
            text += &format!("|new:{}", names(events));
        }
        let hash =
            text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("{hash:016x}")
    }

    /// True when applying would change nothing.
    pub fn is_up_to_date(&self) -> bool {
        self.new_webhook.is_none() && self.webhooks.iter().all(|w| w.action != PlanAction::Update)
    }
}

/// Decides Steps 1 and 2 and the plan for `webhooks`.
pub fn advise(tests: Vec<TestEvidence>, webhooks: &[Webhook], options: PlanOptions) -> Advice {
    let step1 = Step1::of(&tests);
    let recommended = step1.recommended_events();
    let in_scope: BTreeSet<EventKind> = STEP2_PROCTORED.iter().chain(STEP2_NOT_PROCTORED).copied().collect();
    let webhooks: Vec<WebhookPlan> =
        webhooks.iter().map(|w| plan_webhook(w, &recommended, &in_scope, options)).collect();
    let new_webhook = webhooks.iter().all(|w| w.action == PlanAction::OutOfScope).then(|| recommended.clone());
    Advice { tests, step1, recommended, webhooks, new_webhook, options }
}

fn plan_webhook(
    webhook: &Webhook,
    recommended: &[EventKind],
    in_scope: &BTreeSet<EventKind>,
    options: PlanOptions,
) -> WebhookPlan {
    let before = &webhook.events;
    let legacy: Vec<LegacySubscription> = before
        .iter()
        .filter(|e| e.is_legacy_certify())
        .map(|&certify| LegacySubscription { certify, replaced_by: replacements(certify) })
        .collect();
    let relevant = !legacy.is_empty() || before.iter().any(|e| in_scope.contains(e));
    let mut plan = WebhookPlan {
        webhook_id: webhook.id.clone(),
        url: webhook.url.clone(),
        updated_at: webhook.updated_at,
        events_before: before.clone(),
        legacy,
        missing: Vec::new(),
        dropped: Vec::new(),
        events_after: before.clone(),
        action: PlanAction::OutOfScope,
    };
    if !relevant {
        return plan;
    }
    plan.missing = recommended.iter().filter(|e| !before.contains(e)).copied().collect();
    if options.drop_legacy {
        plan.dropped = plan.legacy.iter().map(|l| l.certify).collect();
    }
    // In the order the product lists events, so a plan reads the same way every time.
    plan.events_after = EventKind::ALL
        .into_iter()
        .filter(|e| (before.contains(e) || plan.missing.contains(e)) && !plan.dropped.contains(e))
        .collect();
    plan.action =
        if plan.missing.is_empty() && plan.dropped.is_empty() { PlanAction::UpToDate } else { PlanAction::Update };
    plan
}

/// Event names joined, as the fingerprint reads them.
fn names(events: &[EventKind]) -> String {
    events.iter().map(|e| e.name()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CompanyId;

    fn test(id: &str, setting: bool, latest: Option<bool>) -> TestEvidence {
        TestEvidence {
            test_id: TestId::parse(id).unwrap(),
            title: id.to_owned(),
            framework: FrameworkId::parse("general-coding").unwrap(),
            proctored_setting: setting,
            latest: latest.map(|proctored| LatestResult {
                session_id: SessionId::parse(format!("{id}-s")).unwrap(),
                candidate: "Jane Doe".into(),
                finished_at: Timestamp::from_millis(1),
                proctored,
            }),
        }
    }

    fn webhook(id: &str, events: &[EventKind]) -> Webhook {
        Webhook {
            id: WebhookId::parse(id).unwrap(),
            company_id: CompanyId::parse("acme").unwrap(),
            url: format!("https://example.com/{id}"),
            events: events.to_vec(),
            secret: None,
            retired_secrets: Vec::new(),
            owner_emails: vec![],
            custom_headers: vec![],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(5),
        }
    }

    use EventKind::*;

    #[test]
    fn step_1_reads_the_latest_coding_report_before_the_setting() {
        // Proctored today, but the result customers open says No: the report wins.
        assert!(!test("a", true, Some(false)).proctored());
        assert!(test("a", true, None).proctored());
        assert_eq!(Step1::of(&[]), Step1::NoCertifiedEvaluations);
        assert_eq!(Step1::of(&[test("a", false, Some(true)), test("b", true, None)]), Step1::Proctored);
        assert_eq!(Step1::of(&[test("a", false, None)]), Step1::NotProctored);
        assert_eq!(Step1::of(&[test("a", true, None), test("b", false, None)]), Step1::Mixed);
    }

    #[test]
    fn step_2_lists_are_the_guides_and_mixed_takes_both() {
        assert_eq!(Step1::Proctored.recommended_events(), STEP2_PROCTORED);
        assert_eq!(Step1::NotProctored.recommended_events(), STEP2_NOT_PROCTORED);
        let mixed = Step1::Mixed.recommended_events();
        assert!(STEP2_PROCTORED.iter().chain(STEP2_NOT_PROCTORED).all(|e| mixed.contains(e)));
        assert_eq!(mixed.len(), BTreeSet::from_iter(mixed.iter()).len(), "no duplicates");
    }

    #[test]
    fn a_legacy_only_webhook_gains_the_replacements_and_keeps_its_certify_events() {
        let legacy = webhook("wh_legacy", &[CertificationResultShared, CertificationRequestExpired]);
        let advice = advise(vec![test("t", false, Some(false))], &[legacy], PlanOptions::default());
        assert_eq!(advice.step1, Step1::NotProctored);
        let plan = &advice.webhooks[0];
        assert_eq!(plan.action, PlanAction::Update);
        assert_eq!(plan.legacy[0].certify, CertificationResultShared);
        assert!(plan.legacy[0].replaced_by.contains(&PreScreenResultShared));
        assert_eq!(plan.legacy[1].replaced_by, vec![PreScreenExpired]);
        assert_eq!(plan.missing, STEP2_NOT_PROCTORED);
        assert!(plan.events_after.contains(&CertificationResultShared), "kept unless asked");
        assert!(STEP2_NOT_PROCTORED.iter().all(|e| plan.events_after.contains(e)));
        assert!(advice.new_webhook.is_none());
        assert!(!advice.is_up_to_date());
    }

    #[test]
    fn dropping_legacy_removes_only_certify_events() {
        let mixed = webhook("wh_mixed", &[CertificationResultShared, CompanyTestSessionCreated, AssessmentCreated]);
        let advice = advise(vec![test("t", true, None)], &[mixed], PlanOptions { drop_legacy: true });
        let plan = &advice.webhooks[0];
        assert_eq!(plan.dropped, vec![CertificationResultShared]);
        assert!(!plan.events_after.contains(&CertificationResultShared));
        assert!(plan.events_after.contains(&AssessmentCreated), "unrelated subscriptions stay");
        assert!(!plan.missing.contains(&CompanyTestSessionCreated), "already there");
        assert!(STEP2_PROCTORED.iter().all(|e| plan.events_after.contains(e)));
    }

    #[test]
    fn an_up_to_date_company_has_nothing_to_apply() {
        let current = webhook("wh_current", STEP2_PROCTORED);
        let other = webhook("wh_other", &[AssessmentCreated, LiveInterviewFinished]);
        let advice = advise(vec![test("t", true, Some(true))], &[current, other], PlanOptions::default());
        assert_eq!(advice.webhooks[0].action, PlanAction::UpToDate);
        assert_eq!(advice.webhooks[1].action, PlanAction::OutOfScope);
        assert_eq!(advice.webhooks[1].events_after, advice.webhooks[1].events_before);
        assert!(advice.is_up_to_date());
    }

    #[test]
    fn without_any_results_webhook_a_new_one_is_proposed() {
        let other = webhook("wh_other", &[AssessmentCreated]);
        let advice = advise(vec![test("t", true, None)], &[other], PlanOptions::default());
        assert_eq!(advice.new_webhook.as_deref(), Some(STEP2_PROCTORED));
        assert!(!advice.is_up_to_date());
        assert_eq!(advise(vec![], &[], PlanOptions::default()).new_webhook.as_deref(), Some(STEP2_NOT_PROCTORED));
    }
}
