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

use screenhook_domain::{ApiKey, Company, CompanyId, CompanyTest, TestId};

/// How long another process's change to a company (a sandbox clock advance) may go unseen.
pub(crate) const COMPANY_TTL: Duration = Duration::from_secs(1);

/// Bounds memory: past this many entries a cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// How long a verified API key is trusted without reading it again: a key revoked by another
/// process stops working within this time (at once in the process that revoked it).
pub(crate) const KEY_TTL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct ReadCache {
    companies: Mutex<HashMap<CompanyId, (Company, Instant)>>,
    tests: Mutex<HashMap<(CompanyId, TestId), CompanyTest>>,
    /// By the SHA-256 of the whole bearer token, never the token itself.
    keys: Mutex<HashMap<String, (ApiKey, Instant)>>,
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

    pub(crate) fn key(&self, token_hash: &str) -> Option<ApiKey> {
        let keys = self.keys.lock().expect("not poisoned");
        keys.get(token_hash).filter(|(_, at)| at.elapsed() < KEY_TTL).map(|(k, _)| k.clone())
    }

    pub(crate) fn put_key(&self, token_hash: String, key: ApiKey) {
        let mut keys = self.keys.lock().expect("not poisoned");
        if keys.len() >= MAX_ENTRIES {
            keys.clear();
        }
        keys.insert(token_hash, (key, Instant::now()));
    }

    pub(crate) fn forget_keys(&self) {
        self.keys.lock().expect("not poisoned").clear();
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
