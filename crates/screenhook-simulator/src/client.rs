//! The simulator's view of a screenhook server: the GraphQL API (as the customer and the
//! proctor, with one API key), the candidate link and the inspector — all over HTTP, so the
//! same code drives this server or a remote one.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::SimError;

/// How many times a rate-limited request is tried again, after the server's `Retry-After`.
const RATE_LIMIT_RETRIES: u32 = 5;

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    api_key: String,
}

impl Client {
    pub(crate) fn new(base_url: &str, api_key: &str) -> Result<Client, SimError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| SimError::Http { what: "building the HTTP client".into(), source })?;
        Ok(Client { http, base: base_url.trim_end_matches('/').to_owned(), api_key: api_key.to_owned() })
    }

    /// One GraphQL operation; `Ok(data)` or the first error's code and message.
    pub(crate) async fn gql(&self, operation: &'static str, query: &str, variables: Value) -> Result<Value, SimError> {
        let mut tries = 0;
        loop {
            let res = self
                .http
                .post(format!("{}/graphql", self.base))
                .bearer_auth(&self.api_key)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .map_err(|source| SimError::Http { what: format!("{operation} (POST /graphql)"), source })?;
            let status = res.status();
            if status == StatusCode::TOO_MANY_REQUESTS && tries < RATE_LIMIT_RETRIES {
                tries += 1;
                let wait = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait.clamp(1, 5))).await;
                continue;
            }
            let body: Value = res
                .json()
                .await
                .map_err(|source| SimError::Http { what: format!("{operation}: reading the answer"), source })?;
            if let Some(error) = body["errors"].get(0) {
                return Err(SimError::Api {
                    operation,
                    code: error["extensions"]["code"].as_str().unwrap_or("UNKNOWN").to_owned(),
                    message: error["message"].as_str().unwrap_or_default().to_owned(),
                });
            }
            if !status.is_success() {
                return Err(unexpected(operation, format!("HTTP {status}: {body}")));
            }
            return Ok(body["data"].clone());
        }
    }

    /// `POST /c/{token}/{action}` as the candidate.
    pub(crate) async fn candidate(&self, token: &str, action: &str, body: Value) -> Result<Value, SimError> {
        let what = format!("the candidate's {action} (POST /c/…/{action})");
        let res = self
            .http
            .post(format!("{}/c/{token}/{action}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|source| SimError::Http { what: what.clone(), source })?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|source| SimError::Http { what: format!("{what}: reading the answer"), source })?;
        if !status.is_success() {
            return Err(SimError::Candidate {
                action: action.to_owned(),
                status: status.as_u16(),
                message: body["error"]["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(body)
    }

    /// `POST /inspect`: a new bin, `{id, url, pageUrl, …}`.
    pub(crate) async fn create_bin(&self) -> Result<Value, SimError> {
        let res =
            self.http.post(format!("{}/inspect", self.base)).send().await.map_err(|source| SimError::Http {
                what: "creating an inspector bin (POST /inspect)".into(),
                source,
            })?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|source| SimError::Http {
            what: "creating an inspector bin: reading the answer".into(),
            source,
        })?;
        if status != StatusCode::CREATED {
            return Err(unexpected("POST /inspect", format!("HTTP {status}: {body}")));
        }
        Ok(body)
    }

    /// `GET /inspect/{bin}/requests`: the bin and its requests, newest first.
    pub(crate) async fn bin_requests(&self, bin: &str) -> Result<Value, SimError> {
        let what = "reading the inspector bin (GET /inspect/…/requests)";
        let res = self
            .http
            .get(format!("{}/inspect/{bin}/requests", self.base))
            .send()
            .await
            .map_err(|source| SimError::Http { what: what.into(), source })?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|source| SimError::Http { what: what.into(), source })?;
        if !status.is_success() {
            return Err(unexpected("GET /inspect/…/requests", format!("HTTP {status}: {body}")));
        }
        Ok(body)
    }
}

pub(crate) fn unexpected(operation: &str, detail: impl Into<String>) -> SimError {
    SimError::Unexpected { operation: operation.to_owned(), detail: detail.into() }
}

/// A string field of an answer, or an error naming the operation.
pub(crate) fn text(value: &Value, operation: &str, field: &str) -> Result<String, SimError> {
    value.as_str().map(str::to_owned).ok_or_else(|| unexpected(operation, format!("no {field} in the answer")))
}
