//! What a fresh installation starts with: one sandbox company and an admin key for it.

use screenhook_domain::{Company, CompanyId, Millis, Permission};
use screenhook_store::{Store, StoreError};

use crate::{
    clock::Clock,
    keys::{self, IssuedKey},
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
    let now = clock.now();
    let company = Company {
        id: CompanyId::parse(SANDBOX_COMPANY).expect("a valid id"),
        name: "Sandbox".to_owned(),
        sandbox: true,
        clock_offset: Millis::from_millis(0),
        created_at: now,
    };
    store.insert_company(&company).await?;
    let key = keys::issue(store, &company.id, "created on first start", Permission::ALL.to_vec(), now).await?;
    Ok(Some((company, key)))
}
