//! API key management (not in CodeSignal's API, where keys come from support): `apiKeys`,
//! `createApiKey`, `revokeApiKey`. All need the `admin` permission. A key can only grant
//! permissions it holds itself, so an admin key without `proctor` cannot mint a proctor key.

use async_graphql::{Context, Enum, Object, SimpleObject};
use screenhook_domain::{ApiKey, Permission};
use screenhook_engine::keys;

use super::{allowed, engine, types::Ts};
use crate::error::ApiError;

#[derive(Default)]
pub struct KeyQuery;

#[derive(Default)]
pub struct KeyMutation;

/// What a key may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum ApiKeyPermission {
    /// Read and change Pre-Screens.
    Tests,
    /// Invite candidates and manage their sessions.
    Sessions,
    /// Read results (scores, report URLs).
    Results,
    /// Manage webhooks and their deliveries.
    Webhooks,
    /// Schedule, start and finish live interviews; record feedback.
    Interviews,
    /// Manage API keys; implies every other permission except proctor and grader.
    Admin,
    /// Verify or reject proctored results.
    Proctor,
    /// Record the results of ended attempts (the assessment engine).
    Grader,
}

impl From<ApiKeyPermission> for Permission {
    fn from(p: ApiKeyPermission) -> Permission {
        match p {
            ApiKeyPermission::Tests => Permission::Tests,
            ApiKeyPermission::Sessions => Permission::Sessions,
            ApiKeyPermission::Results => Permission::Results,
            ApiKeyPermission::Webhooks => Permission::Webhooks,
            ApiKeyPermission::Interviews => Permission::Interviews,
            ApiKeyPermission::Admin => Permission::Admin,
            ApiKeyPermission::Proctor => Permission::Proctor,
            ApiKeyPermission::Grader => Permission::Grader,
        }
    }
}

impl From<Permission> for ApiKeyPermission {
    fn from(p: Permission) -> ApiKeyPermission {
        match p {
            Permission::Tests => ApiKeyPermission::Tests,
            Permission::Sessions => ApiKeyPermission::Sessions,
            Permission::Results => ApiKeyPermission::Results,
            Permission::Webhooks => ApiKeyPermission::Webhooks,
            Permission::Interviews => ApiKeyPermission::Interviews,
            Permission::Admin => ApiKeyPermission::Admin,
            Permission::Proctor => ApiKeyPermission::Proctor,
            Permission::Grader => ApiKeyPermission::Grader,
        }
    }
}

/// A key as listed: never its secret.
#[derive(SimpleObject)]
#[graphql(name = "ApiKey")]
pub struct ApiKeyObj {
    /// The `<public id>` of `sk_<public id>_<secret>`.
    pub public_id: String,
    pub description: String,
    pub permissions: Vec<ApiKeyPermission>,
    pub create_date: Ts,
    pub revoke_date: Option<Ts>,
}

impl From<ApiKey> for ApiKeyObj {
    fn from(k: ApiKey) -> ApiKeyObj {
        ApiKeyObj {
            public_id: k.public_id,
            description: k.description,
            permissions: k.permissions.into_iter().map(Into::into).collect(),
            create_date: Ts(k.created_at),
            revoke_date: k.revoked_at.map(Ts),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiKey {
    /// The full key. Shown only here, once: only its hash is stored.
    pub key: String,
    pub api_key: ApiKeyObj,
}

#[Object]
impl KeyQuery {
    /// The company's keys, revoked ones included.
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKeyObj>> {
        let caller = allowed(ctx, Permission::Admin)?;
        let keys = engine(ctx).store.api_keys(caller.company()).await.map_err(ApiError::from)?;
        Ok(keys.into_iter().map(Into::into).collect())
    }
}

#[Object]
impl KeyMutation {
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        description: String,
        permissions: Vec<ApiKeyPermission>,
    ) -> async_graphql::Result<CreatedApiKey> {
        let caller = allowed(ctx, Permission::Admin)?;
        let description = description.trim();
        if description.is_empty() || description.chars().count() > 200 {
            return Err(ApiError::invalid("description", "must be 1–200 characters", "1–200 characters").into());
        }
        let mut granted: Vec<Permission> = permissions.into_iter().map(Into::into).collect();
        granted.sort();
        granted.dedup();
        if granted.is_empty() {
            return Err(ApiError::invalid(
                "permissions",
                "must not be empty",
                "one or more of tests, sessions, results, webhooks, admin, proctor",
            )
            .into());
        }
        if let Some(missing) = granted.iter().find(|p| !caller.key.allows(**p)) {
            return Err(ApiError::access_denied(*missing).into());
        }
        let engine = engine(ctx);
        let now = engine.clock.now();
        let issued =
            keys::issue(&*engine.store, caller.company(), description, granted, now).await.map_err(ApiError::from)?;
        Ok(CreatedApiKey { key: issued.token, api_key: issued.key.into() })
    }

    /// Revokes a key of the company at once (the calling key included).
    async fn revoke_api_key(&self, ctx: &Context<'_>, public_id: String) -> async_graphql::Result<ApiKeyObj> {
        let caller = allowed(ctx, Permission::Admin)?;
        let engine = engine(ctx);
        let now = engine.clock.now();
        let not_found = || ApiError::not_found("API key", &public_id);
        if !engine.revoke_api_key(caller.company(), &public_id, now).await.map_err(ApiError::from)? {
            return Err(not_found().into());
        }
        let key = engine.store.api_key(&public_id).await.map_err(ApiError::from)?.ok_or_else(not_found)?;
        Ok(key.into())
    }
}
