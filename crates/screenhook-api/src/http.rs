//! The `/graphql` transport: authentication, body and batch limits, the rate limit, and a
//! stable `extensions.code` on every error.
//!
//! Order of checks: credential (401) → content type (415) → body size (413) → JSON and batch
//! shape (400) → rate limit, one token per operation (429) → execution. Errors the executor
//! raises without a code get one here: depth and cost limits, and parse/validation failures.

use std::collections::HashSet;

use async_graphql::{
    Request, Response,
    parser::{
        parse_query,
        types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection},
    },
};
use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use serde_json::Value;

use crate::{
    ApiState,
    error::{ApiError, Code},
    schema::Caller,
};

/// `POST /graphql`: one operation (`{query, variables, operationName}`) or a batch (an array).
pub async fn graphql(State(state): State<ApiState>, headers: HeaderMap, body: Body) -> axum::response::Response {
    match handle(&state, &headers, body).await {
        Ok(answer) => answer,
        Err(err) => transport_error(&err, None),
    }
}

async fn handle(state: &ApiState, headers: &HeaderMap, body: Body) -> Result<axum::response::Response, ApiError> {
    let caller = authenticate(state, headers).await?;
    if let Some(content_type) = headers.get(header::CONTENT_TYPE)
        && !content_type.to_str().is_ok_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"))
    {
        return Err(ApiError::new(Code::UnsupportedMediaType, "send the request as Content-Type: application/json"));
    }
    let max = state.config.max_body_bytes;
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(Code::PayloadTooLarge, format!("the request body is larger than the {max} bytes allowed"))
    })?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::new(Code::BadRequest, format!("the request body is not valid JSON: {err}")))?;
    let (requests, batched) = match json {
        Value::Array(items) => {
            let max_batch = state.config.max_batch;
            if items.is_empty() || items.len() > max_batch {
                return Err(ApiError::new(
                    Code::BadRequest,
                    format!("a batch holds {} operations; 1 to {max_batch} are allowed", items.len()),
                ));
            }
            (items.into_iter().map(parse_request).collect::<Result<Vec<_>, _>>()?, true)
        }
        single => (vec![parse_request(single)?], false),
    };
    if let Err(wait) = state.limiter.take(&caller.key.public_id, requests.len() as u32) {
        let secs = wait.as_secs() + 1;
        let err = ApiError::new(
            Code::RateLimited,
            format!(
                "Rate limit exceeded for this API key ({} operations/s, burst {}); retry in {secs} s",
                state.config.rate_limit_per_second, state.config.rate_limit_burst
            ),
        );
        return Ok(transport_error(&err, Some(secs)));
    }

    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        responses.push(execute(state, &caller, request).await);
    }
    if batched {
        let body: Vec<Value> = responses.iter().map(response_json).collect();
        return Ok((StatusCode::OK, Json(Value::Array(body))).into_response());
    }
    let response = responses.pop().expect("one request, one response");
    let status = if response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| request_level(code_of(e)))
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response_json(&response))).into_response())
}

/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

/// The key behind `Authorization: Bearer <key>`. Every failure is the same error.
async fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer_token(headers).ok_or_else(ApiError::unauthenticated)?;
    match state.engine.authenticate(token).await? {
        Some(key) => Ok(Caller { key }),
        None => Err(ApiError::unauthenticated()),
    }
}

fn parse_request(value: Value) -> Result<Request, ApiError> {
    if !value.is_object() {
        return Err(ApiError::new(
            Code::BadRequest,
            "expected a JSON object {query, variables, operationName}, or an array of them",
        ));
    }
    serde_json::from_value(value)
        .map_err(|err| ApiError::new(Code::BadRequest, format!("the request is not a GraphQL operation: {err}")))
}

async fn execute(state: &ApiState, caller: &Caller, request: Request) -> Response {
    let mut request = request.data(caller.clone());
    // Clients send the same few documents over and over: parse each once. A document that
    // does not parse is left to the executor, which reports the syntax error.
    let parsed = state.documents.get_or_parse(&request.query);
    let introspection = parsed.as_ref().is_some_and(is_introspection);
    let operation = parsed.as_ref().and_then(|doc| root_fields(doc, request.operation_name.as_deref()));
    let notices = may_run_deprecated(parsed.as_ref(), request.operation_name.as_deref(), &state.deprecated);
    if let Some(doc) = parsed {
        request.set_parsed_query(doc);
    }
    let mut response = if introspection {
        let mut request = request;
        request.introspection_mode = async_graphql::IntrospectionMode::IntrospectionOnly;
        state.introspection.execute(request).await
    } else if notices {
        state.schema.execute(request).await
    } else {
        state.without_notices.execute(request).await
    };
    for err in &mut response.errors {
        if code_of(err).is_some() {
            continue;
        }
        let code = match err.message.as_str() {
            "Query is nested too deep." => Code::QueryTooDeep,
            "Query is too complex." => Code::QueryTooComplex,
            // Errors with a path come from coercing a resolver's arguments; the rest from
            // parsing and validating the document against the schema.
            _ if !err.path.is_empty() => Code::BadUserInput,
            _ => Code::GraphqlValidationFailed,
        };
        let limits = match code {
            Code::QueryTooDeep => Some(format!(" (at most {} levels)", state.config.max_depth)),
            Code::QueryTooComplex => Some(format!(
                " (cost at most {}; list fields cost their page size `first` times their selection)",
                state.config.max_complexity
            )),
            _ => None,
        };
        if let Some(limits) = limits {
            err.message = format!("{}{limits}", err.message.trim_end_matches('.'));
        }
        err.extensions.get_or_insert_with(Default::default).set("code", code.as_str());
    }
    count_operation(operation, &response);
    response
}

/// The operation a document runs, when it picks one.
fn selected<'d>(doc: &'d ExecutableDocument, operation_name: Option<&str>) -> Option<&'d OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether the answer may need a deprecation notice: unless the document is known to run an
/// operation whose root selections are all fields, none of them deprecated.
fn may_run_deprecated(
    doc: Option<&ExecutableDocument>,
    operation_name: Option<&str>,
    deprecated: &HashSet<String>,
) -> bool {
    let Some(operation) = doc.and_then(|doc| selected(doc, operation_name)) else {
        return true;
    };
    operation.selection_set.node.items.iter().any(|item| match &item.node {
        Selection::Field(field) => deprecated.contains(field.node.name.node.as_str()),
        Selection::FragmentSpread(_) | Selection::InlineFragment(_) => true,
    })
}

/// The type and root field names of the operation a document runs, when it picks one.
fn root_fields(doc: &ExecutableDocument, operation_name: Option<&str>) -> Option<(OperationType, Vec<String>)> {
    let operation = selected(doc, operation_name)?;
    let fields = operation.selection_set.node.items.iter().filter_map(|item| match &item.node {
        Selection::Field(field) => Some(field.node.name.node.to_string()),
        _ => None,
    });
    Some((operation.ty, fields.collect()))
}

/// `screenhook_graphql_operations_total{type, field, outcome}`, one per root field. Only a
/// document that passed validation names its fields: the schema bounds them, where a
/// refused document could name anything.
fn count_operation(operation: Option<(OperationType, Vec<String>)>, response: &Response) {
    let refused = response.errors.iter().any(|e| request_level(code_of(e)));
    let outcome = if response.errors.is_empty() { "ok" } else { "error" };
    let (ty, fields) = match operation {
        Some((ty, fields)) if !refused && !fields.is_empty() => (ty, fields),
        _ => {
            metrics::counter!("screenhook_graphql_operations_total", "type" => "unknown", "field" => "", "outcome" => "refused")
                .increment(1);
            return;
        }
    };
    let ty = match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    for field in fields {
        metrics::counter!("screenhook_graphql_operations_total", "type" => ty, "field" => field, "outcome" => outcome)
            .increment(1);
    }
}

fn code_of(err: &async_graphql::ServerError) -> Option<String> {
    match err.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

fn request_level(code: Option<String>) -> bool {
    matches!(code.as_deref(), Some("QUERY_TOO_DEEP" | "QUERY_TOO_COMPLEX" | "GRAPHQL_VALIDATION_FAILED"))
}

fn response_json(response: &Response) -> Value {
    serde_json::to_value(response).unwrap_or_else(|err| {
        tracing::error!(%err, "could not serialize a GraphQL response");
        serde_json::json!({ "errors": [ApiError::internal().graphql_error()] })
    })
}

/// Parsed documents by their text, bounded: past [`Documents::MAX`] entries it starts over.
#[derive(Default)]
pub(crate) struct Documents(std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>);

impl Documents {
    const MAX: usize = 1024;

    fn get_or_parse(&self, query: &str) -> Option<ExecutableDocument> {
        if let Some(doc) = self.0.lock().expect("not poisoned").get(query) {
            return Some(doc.clone());
        }
        let doc = parse_query(query).ok()?;
        let mut documents = self.0.lock().expect("not poisoned");
        if documents.len() >= Self::MAX {
            documents.clear();
        }
        documents.insert(query.to_owned(), doc.clone());
        Some(doc)
    }
}

/// Whether every operation of the document selects only `__schema`, `__type` or `__typename`.
fn is_introspection(doc: &ExecutableDocument) -> bool {
    let mut operations = doc.operations.iter().peekable();
    operations.peek().is_some()
        && operations.all(|(_, op)| {
            let items = &op.node.selection_set.node.items;
            !items.is_empty()
                && items.iter().all(|item| match &item.node {
                    Selection::Field(field) => field.node.name.node.starts_with("__"),
                    _ => false,
                })
        })
}

/// A whole answer that is one error: `{"errors": [...]}` with the code's HTTP status.
fn transport_error(err: &ApiError, retry_after: Option<u64>) -> axum::response::Response {
    let mut response =
        (err.code.status(), Json(serde_json::json!({ "errors": [err.graphql_error()] }))).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if err.code == Code::Unauthenticated {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may_notice(query: &str, operation_name: Option<&str>) -> bool {
        let deprecated = HashSet::from(["certificationRequest".to_owned()]);
        may_run_deprecated(parse_query(query).ok().as_ref(), operation_name, &deprecated)
    }

    #[test]
    fn only_documents_known_to_run_no_deprecated_operation_skip_the_notices() {
        let two = "query A { company { id } } query B { certificationRequest { id } }";
        assert!(!may_notice("{ company { id } }", None));
        assert!(!may_notice(two, Some("A")));
        assert!(may_notice(two, Some("B")));
        assert!(may_notice(two, None), "no operation picked");
        assert!(may_notice("{ certificationRequest { id } }", None));
        assert!(may_notice("{ ...F } fragment F on Query { company { id } }", None));
        assert!(may_notice("{ ... on Query { company { id } } }", None));
        assert!(may_notice("{ not valid", None), "a document that does not parse");
    }
}
