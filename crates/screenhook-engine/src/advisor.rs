//! Gathers what the Certify transition's advisor decides on: the company's Certified
//! Evaluations with their most recent results, and its webhooks.

use screenhook_domain::{
    CompanyId,
    advisor::{Advice, LatestResult, PlanOptions, TestEvidence, advise},
};
use screenhook_store::Page;

use crate::{Engine, EngineError};

impl Engine {
    /// Steps 1 and 2 and the webhook plan for `company` (see [`screenhook_domain::advisor`]).
    /// Archived Certified Evaluations count: their results are what Certify listeners got.
    pub async fn certify_advice(&self, company: &CompanyId, options: PlanOptions) -> Result<Advice, EngineError> {
        let mut evidence = Vec::new();
        for test in self.store.tests(company).await? {
            let Some(framework) = test.framework_id.clone() else { continue };
            // Newest finish first: the first session is the latest result when it finished.
            let newest = self.store.sessions_of_test(company, &test.id, Page { first: 1, offset: 0 }).await?;
            let latest = newest.into_iter().next().and_then(|session| {
                let finished_at = session.finish_date.filter(|_| session.result.is_some())?;
                Some(LatestResult {
                    session_id: session.id.clone(),
                    candidate: session.candidate.full_name(),
                    finished_at,
                    proctored: session.proctored,
                })
            });
            evidence.push(TestEvidence {
                test_id: test.id,
                title: test.title,
                framework,
                proctored_setting: test.proctored,
                latest,
            });
        }
        let webhooks: Vec<_> = self.store.webhooks(company).await?.into_iter().map(|(webhook, _)| webhook).collect();
        Ok(advise(evidence, &webhooks, options))
    }
}
