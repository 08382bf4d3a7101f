//! Reads the hot commands repeat: the company (for its clock) and the test invited to.
//!
//! A cached test is never trusted on its own: an invitation decided on it carries a guard
//! (`Change::guards`) that commits only if the test is still at that version, and a failed
//! guard retries on a fresh read. Companies change only when a sandbox clock is advanced; a
//! cached company is used for at most [`COMPANY_TTL`], and this process forgets it at once
//! when it changes it itself.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use screenhook_domain::{Company, CompanyId, CompanyTest, TestId};

/// How long another process's change to a company (a sandbox clock advance) may go unseen.
pub(crate) const COMPANY_TTL: Duration = Duration::from_secs(1);

/// Bounds memory: past this many entries a cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub(crate) struct ReadCache {
    companies: Mutex<HashMap<CompanyId, (Company, Instant)>>,
    tests: Mutex<HashMap<(CompanyId, TestId), CompanyTest>>,
}

impl ReadCache {
    pub(crate) fn company(&self, id: &CompanyId) -> Option<Company> {
        let companies = self.companies.lock().expect("not poisoned");
        companies.get(id).filter(|(_, at)| at.elapsed() < COMPANY_TTL).map(|(c, _)| c.clone())
    }

    pub(crate) fn put_company(&self, company: Company) {
        let mut companies = self.companies.lock().expect("not poisoned");
        if companies.len() >= MAX_ENTRIES {
            companies.clear();
        }
        companies.insert(company.id.clone(), (company, Instant::now()));
    }

    pub(crate) fn forget_company(&self, id: &CompanyId) {
        self.companies.lock().expect("not poisoned").remove(id);
    }

    pub(crate) fn test(&self, company: &CompanyId, id: &TestId) -> Option<CompanyTest> {
        self.tests.lock().expect("not poisoned").get(&(company.clone(), id.clone())).cloned()
    }

    pub(crate) fn put_test(&self, test: CompanyTest) {
        let mut tests = self.tests.lock().expect("not poisoned");
        if tests.len() >= MAX_ENTRIES {
            tests.clear();
        }
        tests.insert((test.company_id.clone(), test.id.clone()), test);
    }
}
