//! The Certify advisor's evidence: each Certified Evaluation with its most recent result.

use std::sync::Arc;

use screenhook_domain::advisor::{PlanOptions, Step1};
use screenhook_engine::{ManualClock, SessionAction};

use crate::{T0, open};

#[tokio::test]
async fn step_1_reads_each_certified_evaluations_latest_result() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
    let advice = h.engine.certify_advice(&h.company, PlanOptions::default()).await.unwrap();
    assert_eq!(advice.step1, Step1::NoCertifiedEvaluations);

    let proctored = h.test(true, true).await;
    let not_proctored = h.test(false, true).await;
    h.test(true, false).await; // custom Pre-Screens are not Certify's: ignored
    let finished = h.engine.invite(&h.company, h.invitation(&proctored, "jane@example.com")).await.unwrap().session;
    for action in [
        SessionAction::Start,
        SessionAction::Submit { score: 900, max_score: None, area_points: vec![], integrity_suggested: false },
    ] {
        h.engine.session_command(&h.company, &finished.id, action).await.unwrap();
    }
    // A newer invitation that has not finished is not a result.
    h.engine.invite(&h.company, h.invitation(&proctored, "joe@example.com")).await.unwrap();
    h.engine.invite(&h.company, h.invitation(&not_proctored, "ann@example.com")).await.unwrap();

    let advice = h.engine.certify_advice(&h.company, PlanOptions::default()).await.unwrap();
    assert_eq!(advice.tests.len(), 2, "{:?}", advice.tests);
    let of = |id| advice.tests.iter().find(|t| &t.test_id == id).unwrap();
    let latest = of(&proctored).latest.as_ref().expect("the finished result");
    assert_eq!(latest.session_id, finished.id);
    assert!(latest.proctored && of(&proctored).proctored());
    assert!(of(&not_proctored).latest.is_none() && !of(&not_proctored).proctored());
    assert_eq!(advice.step1, Step1::Mixed);
    assert_eq!(advice.new_webhook, Some(Step1::Mixed.recommended_events()), "no webhook yet");
}
