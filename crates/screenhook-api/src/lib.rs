//! The customer-facing HTTP surface: CodeSignal's Pre-Screen GraphQL API and the candidate link.
//!
//! - `POST /graphql` — the GraphQL API, authenticated by `Authorization: Bearer <api key>`.
//!   The company comes only from the key; every read and command is scoped to it.
//! - `GET /graphiql` — GraphiQL pointed at `/graphql`, its assets under `/graphiql/assets/`
//!   (served from the binary: it works offline).
//! - `GET /c/{token}` and `POST /c/{token}/{open,decline,share,start,submit}` — the candidate's
//!   own link: the token is the credential and reaches only its own session.
//! - `/operator/v1/companies…` — the installation's companies, for the operator (`operator.token`),
//!   off unless a token is configured.
//!
//! Error codes, limits and permissions are documented in `docs/API-DESIGN.md`.
//!
//! # Layout
//! - [`error`]: [`ApiError`] and its stable codes, for GraphQL and for the candidate link.
//! - [`limit`]: the per-key token bucket.
//! - [`http`]: the `/graphql` transport (auth, body and batch limits, error codes).
//! - [`graphiql`]: the GraphiQL page and its vendored assets.
//! - [`schema`]: the code-first schema, one module per area, merged.
//! - [`candidate`]: the candidate link.
//! - [`operator`]: the operator's companies API.

pub mod candidate;
pub mod error;
pub mod graphiql;
pub mod http;
pub mod limit;
pub mod operator;
pub mod schema;

use std::{collections::HashSet, sync::Arc};

use axum::{
    Router,
    routing::{get, post},
};
use screenhook_delivery::WebhookManager;
use screenhook_engine::Engine;

pub use error::{ApiError, Code};
pub use schema::{ApiSchema, build_schema, sdl};

/// Limits of the API. Depth 10 and cost 10,000 are CodeSignal's documented limits; the rate
/// and size limits are this server's (`docs/API-DESIGN.md`).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Sustained requests per second per API key (each operation of a batch counts).
    pub rate_limit_per_second: u32,
    /// Bucket size per API key: how many operations may arrive at once.
    pub rate_limit_burst: u32,
    /// Largest accepted `/graphql` body, and candidate-link body.
    pub max_body_bytes: usize,
    /// Most operations in one batched request.
    pub max_batch: usize,
    /// Deepest accepted selection (introspection queries get [`INTROSPECTION_DEPTH`]).
    pub max_depth: usize,
    /// Highest accepted query cost.
    pub max_complexity: usize,
    /// The operator API's credential; `None` turns the operator API off.
    pub operator_token: Option<operator::OperatorToken>,
}

/// Depth allowed to introspection-only queries: GraphiQL's own query nests `ofType` deeper
/// than 10, and such a query can only read the schema.
pub const INTROSPECTION_DEPTH: usize = 20;

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            max_body_bytes: 64 * 1024,
            max_batch: 10,
            max_depth: 10,
            max_complexity: 10_000,
            operator_token: None,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    pub config: Arc<ApiConfig>,
    schema: ApiSchema,
    /// The same schema without deprecation notices, for documents that run no deprecated
    /// operation (`deprecated` names them).
    without_notices: ApiSchema,
    deprecated: Arc<HashSet<String>>,
    /// The same schema, answering introspection only, with [`INTROSPECTION_DEPTH`].
    introspection: ApiSchema,
    limiter: Arc<limit::RateLimiter>,
    documents: Arc<http::Documents>,
}

impl ApiState {
    /// `webhooks` saves webhooks behind the verification ping; its sender's egress policy
    /// decides which URLs may be configured.
    pub fn new(engine: Engine, webhooks: WebhookManager, config: ApiConfig) -> ApiState {
        let schema = build_schema(engine.clone(), webhooks.clone(), config.max_depth, config.max_complexity);
        let without_notices = schema::build_schema_without_notices(
            engine.clone(),
            webhooks.clone(),
            config.max_depth,
            config.max_complexity,
        );
        let deprecated = Arc::new(schema::deprecations::deprecated_operations());
        let introspection = build_schema(engine.clone(), webhooks, INTROSPECTION_DEPTH, config.max_complexity);
        let limiter = Arc::new(limit::RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst));
        let config = Arc::new(config);
        let documents = Arc::default();
        ApiState { engine, config, schema, without_notices, deprecated, introspection, limiter, documents }
    }
}

/// The API's routes, ready to be merged into the server's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/graphql", post(http::graphql))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{file}", get(graphiql::asset))
        .route("/c/{token}", get(candidate::page))
        .route("/c/{token}/{action}", post(candidate::action))
        .route("/operator/v1/companies", get(operator::list).post(operator::create))
        .route("/operator/v1/companies/{id}", get(operator::show).patch(operator::update))
        .with_state(state)
}
