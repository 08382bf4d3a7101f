//! What a fresh installation starts with: one sandbox company and an admin key for it.

use screenhook_domain::{Company, CompanyId};
use screenhook_store::{Store, StoreError};

use crate::{
    clock::Clock,
    companies::{self, CompanyError},
    keys::IssuedKey,
};

/// The id of the sandbox company created on first start.
pub const SANDBOX_COMPANY: &str = "sandbox";

/// On an empty database, creates the sandbox company and a key with every permission
/// (customer and proctor), returning both so the operator can be shown the key once.
/// Returns `None` when the database already has companies.
pub async fn ensure_sandbox(store: &dyn Store, clock: &dyn Clock) -> Result<Option<(Company, IssuedKey)>, StoreError> {
    if !store.companies().await?.is_empty() {
        return Ok(None);
    }
    let id = CompanyId::parse(SANDBOX_COMPANY).expect("a valid id");
    match companies::create(store, &id, "Sandbox", true, clock.now()).await {
        Ok(created) => Ok(Some(created)),
        Err(CompanyError::Exists(id)) => Err(StoreError::Duplicate { what: format!("company {id}") }),
        Err(CompanyError::Store(err)) => Err(err),
        Err(err @ (CompanyError::Invalid { .. } | CompanyError::Unknown(_))) => {
            unreachable!("the sandbox's name and id are valid: {err}")
        }
    }
}
