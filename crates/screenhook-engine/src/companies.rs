//! The operator's side: companies (tenants) are created, renamed, disabled and enabled again,
//! each created with a first admin key shown once.

use screenhook_domain::{Company, CompanyId, Millis, Permission, Timestamp};
use screenhook_store::{Store, StoreError};

use crate::keys::{self, IssuedKey};

/// Longest company name.
pub const MAX_NAME_CHARS: usize = 200;

/// Why an operator's company command was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error("a company {0} already exists")]
    Exists(CompanyId),
    #[error("no company {0}")]
    Unknown(CompanyId),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CompanyError {
    fn from(err: StoreError) -> Self {
        CompanyError::Store(err)
    }
}

/// A trimmed name of 1 to [`MAX_NAME_CHARS`] characters.
pub fn company_name(raw: &str) -> Result<String, CompanyError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(CompanyError::Invalid {
            field: "name",
            problem: format!("must be 1 to {MAX_NAME_CHARS} characters, found {chars}"),
        });
    }
    Ok(name.to_owned())
}

/// Creates a company and its first key, with every permission (customer and proctor); the
/// key's token is in the answer only. A sandbox company's clock may be advanced by the
/// simulator; any other runs on real time.
pub async fn create(
    store: &dyn Store,
    id: &CompanyId,
    name: &str,
    sandbox: bool,
    now: Timestamp,
) -> Result<(Company, IssuedKey), CompanyError> {
    let name = company_name(name)?;
    let company = Company {
        id: id.clone(),
        name,
        sandbox,
        clock_offset: Millis::from_millis(0),
        created_at: now,
        disabled_at: None,
    };
    match store.insert_company(&company).await {
        Err(StoreError::Duplicate { .. }) => return Err(CompanyError::Exists(id.clone())),
        other => other?,
    }
    let key = keys::issue(store, id, "first admin key", Permission::ALL.to_vec(), now).await?;
    Ok((company, key))
}

/// What [`change`] does to a company.
#[derive(Debug, Clone)]
pub enum CompanyChange {
    Rename(String),
    /// Refuse its keys, console sessions and candidate links from now on.
    Disable,
    Enable,
}

/// Renames, disables or enables a company, every change validated before the one write; the
/// changed company. Other processes see the change within their one-second cache.
pub async fn change(
    store: &dyn Store,
    id: &CompanyId,
    changes: &[CompanyChange],
    now: Timestamp,
) -> Result<Company, CompanyError> {
    let mut company = store.company(id).await?.ok_or_else(|| CompanyError::Unknown(id.clone()))?;
    for change in changes {
        match change {
            CompanyChange::Rename(name) => company.name = company_name(name)?,
            CompanyChange::Disable => company.disabled_at = company.disabled_at.or(Some(now)),
            CompanyChange::Enable => company.disabled_at = None,
        }
    }
    store.update_company(&company).await?;
    Ok(company)
}
