//! The code-first GraphQL schema. Names and argument shapes follow CodeSignal's GraphQL API, so
//! a client written against CodeSignal works unchanged; additions are documented in
//! `docs/API-DESIGN.md`.
//!
//! One module per area, merged with `MergedObject`:
//! - [`types`]: the object types, enums and scalars shared by the areas.
//! - [`catalogue`]: `company`, `frameworks`, `certificationTests`.
//! - [`tests`]: Pre-Screens (`companyTest…`, `createCompanyTest…`, `editCompanyTest`,
//!   `archiveCompanyTest`, `unarchiveCompanyTest`, `deleteCompanyTest`).
//! - [`sessions`]: invitations (`companyTestSession…`, `createCompanyTestSession`, …), and
//!   `certifyMigratedSession` (the lookup from an imported Certify request's id).
//! - [`proctor`]: verifying and rejecting proctored results.
//! - [`keys`]: API key management.
//! - [`webhooks`]: webhook management, the delivery log, replay and recovery.
//! - [`sandbox`]: the sandbox company's clock, which the simulator advances.
//! - [`certify`]: the Certify operations CodeSignal removed, answered over Pre-Screen data.
//! - [`advisor`]: the Certify transition's Steps 1 and 2 and the webhook plan, and applying it.
//! - [`deprecations`]: the `extensions.deprecations` notice of answers that used a deprecated
//!   operation.
//!
//! Every resolver takes the company from the [`Caller`] (the authenticated key), never from
//! arguments: an id of another company reads exactly like an id that does not exist.

pub mod advisor;
pub mod catalogue;
pub mod certify;
pub mod deprecations;
pub mod grader;
pub mod interviews;
pub mod keys;
pub mod proctor;
pub mod sandbox;
pub mod sessions;
pub mod tests;
pub mod types;
pub mod webhooks;

use async_graphql::{Context, EmptySubscription, ID, MergedObject, Schema};
use screenhook_delivery::WebhookManager;
use screenhook_domain::{ApiKey, CompanyId, Millis, Permission};
use screenhook_engine::Engine;

use crate::error::ApiError;

pub type ApiSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Largest page (`first`) any list accepts.
pub const MAX_PAGE: i32 = 1000;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    catalogue::CatalogueQuery,
    tests::TestQuery,
    sessions::SessionQuery,
    interviews::InterviewQuery,
    keys::KeyQuery,
    webhooks::WebhookQuery,
    sandbox::SandboxQuery,
    certify::CertifyQuery,
    advisor::AdvisorQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    tests::TestMutation,
    sessions::SessionMutation,
    proctor::ProctorMutation,
    grader::GraderMutation,
    interviews::InterviewMutation,
    keys::KeyMutation,
    webhooks::WebhookMutation,
    sandbox::SandboxMutation,
    certify::CertifyMutation,
    advisor::AdvisorMutation,
);

/// The authenticated API key of the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
}

impl Caller {
    pub fn company(&self) -> &CompanyId {
        &self.key.company_id
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.key.allows(permission) { Ok(()) } else { Err(ApiError::access_denied(permission)) }
    }
}

/// Builds the schema with its limits; `engine` and `webhooks` are available to every resolver.
/// Its answers carry the deprecation notices of [`deprecations`].
pub fn build_schema(engine: Engine, webhooks: WebhookManager, max_depth: usize, max_complexity: usize) -> ApiSchema {
    builder(engine, webhooks, max_depth, max_complexity).extension(deprecations::Deprecations).finish()
}

/// The same schema without the deprecation notices, for documents that run no deprecated
/// operation: any extension makes every field of every answer go through the extension chain,
/// which cost a tenth of the server's CPU per mutation.
pub(crate) fn build_schema_without_notices(
    engine: Engine,
    webhooks: WebhookManager,
    max_depth: usize,
    max_complexity: usize,
) -> ApiSchema {
    builder(engine, webhooks, max_depth, max_complexity).finish()
}

fn builder(
    engine: Engine,
    webhooks: WebhookManager,
    max_depth: usize,
    max_complexity: usize,
) -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(engine)
        .data(webhooks)
        .limit_depth(max_depth)
        .limit_complexity(max_complexity)
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription).finish().sdl()
}

pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller, ApiError> {
    // The transport attaches the caller to every request; its absence is a wiring bug.
    ctx.data_opt::<Caller>().ok_or_else(ApiError::unauthenticated)
}

/// The caller, once it is known to hold `permission`.
pub(crate) fn allowed<'a>(ctx: &'a Context<'_>, permission: Permission) -> Result<&'a Caller, ApiError> {
    let caller = caller(ctx)?;
    caller.require(permission)?;
    Ok(caller)
}

pub(crate) fn engine<'a>(ctx: &'a Context<'_>) -> &'a Engine {
    ctx.data_unchecked::<Engine>()
}

/// Parses an id argument; a malformed id is bad input, a well-formed unknown one is NOT_FOUND.
pub(crate) fn parse_id<T>(
    field: &str,
    id: &ID,
    parse: fn(String) -> Result<T, screenhook_domain::IdError>,
) -> Result<T, ApiError> {
    parse(id.to_string()).map_err(|err| ApiError::bad_id(field, err))
}

/// A duration argument (`Float`, ms) as whole milliseconds.
pub(crate) fn millis(field: &str, value: f64) -> Result<Millis, ApiError> {
    if !value.is_finite() || !(0.0..=1e15).contains(&value) {
        return Err(ApiError::invalid(
            field,
            format!("{value} is not a usable duration"),
            "a non-negative number of milliseconds",
        ));
    }
    Ok(Millis::from_millis(value.round() as i64))
}

/// `first`/`offset` checked and converted to a store page.
pub(crate) fn page(first: i32, offset: Option<i32>) -> Result<screenhook_store::Page, ApiError> {
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(ApiError::invalid("first", format!("{first} is out of range"), format!("0 to {MAX_PAGE}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("offset", format!("{offset} is negative"), "0 or more"));
    }
    Ok(screenhook_store::Page { first: first as u32, offset: offset as u32 })
}

/// The cost of a list field: `factor × first` times the cost of its selection, as CodeSignal
/// prices list fields ("N × first").
pub(crate) fn list_cost(factor: usize, first: Option<i32>, default: i32, child: usize) -> usize {
    let first = usize::try_from(first.unwrap_or(default)).unwrap_or(0);
    factor.saturating_mul(first).saturating_mul(child.max(1))
}

/// Applies a page to an in-memory list, returning the slice and whether more follow.
pub(crate) fn paginate<T>(items: Vec<T>, page: screenhook_store::Page) -> (Vec<T>, bool) {
    let start = (page.offset as usize).min(items.len());
    let end = start.saturating_add(page.first as usize).min(items.len());
    let has_next = end < items.len();
    (items.into_iter().skip(start).take(end - start).collect(), has_next)
}
