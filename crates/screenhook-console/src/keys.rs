//! Integrations → API keys: create with permissions (the key is shown once), list, revoke. A
//! key can only grant permissions the signed-in key holds itself.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::IntoResponse,
};
use screenhook_domain::Permission;
use screenhook_engine::keys;

use crate::{
    Console, PageResult,
    auth::Signed,
    form::Posted,
    view::{self, Nav, Notice},
};

pub struct KeyRow {
    pub public_id: String,
    pub description: String,
    pub permissions: String,
    pub created: String,
    pub revoked: Option<String>,
    pub current: bool,
}

/// A permission the form offers.
pub struct PermissionOption {
    pub name: &'static str,
    pub what: &'static str,
}

fn describe(p: Permission) -> &'static str {
    match p {
        Permission::Tests => "read and change Pre-Screens",
        Permission::Sessions => "invite candidates and manage invitations",
        Permission::Results => "read results, scores and report links",
        Permission::Webhooks => "manage webhooks, read the delivery log, replay",
        Permission::Interviews => "schedule, start and finish live interviews; record feedback",
        Permission::Admin => "manage API keys; implies every permission above",
        Permission::Proctor => "verify or reject proctored results (the proctoring team)",
        Permission::Grader => "record the results of ended attempts (the assessment engine)",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "keys.html")]
struct KeysPage {
    nav: Nav,
    notice: Option<Notice>,
    keys: Vec<KeyRow>,
    options: Vec<PermissionOption>,
    /// The key just created: shown this once.
    created: Option<String>,
}

async fn page(console: &Console, signed: &Signed, notice: Option<Notice>, created: Option<String>) -> PageResult {
    let mut keys: Vec<KeyRow> = console
        .engine
        .store
        .api_keys(&signed.company.id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            current: k.public_id == signed.key.public_id,
            permissions: k.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
            public_id: k.public_id,
            description: k.description,
            created: view::when(k.created_at),
            revoked: k.revoked_at.map(view::when),
        })
        .collect();
    keys.sort_by(|a, b| a.revoked.is_some().cmp(&b.revoked.is_some()).then(b.created.cmp(&a.created)));
    let options = Permission::ALL
        .into_iter()
        .filter(|p| signed.allows(*p))
        .map(|p| PermissionOption { name: p.as_str(), what: describe(p) })
        .collect();
    Ok(KeysPage { nav: Nav::new(signed, "keys"), notice, keys, options, created }.into_response())
}

/// `GET /integrations/keys`.
pub async fn list(State(console): State<Console>, signed: Signed) -> PageResult {
    signed.require(Permission::Admin)?;
    page(&console, &signed, None, None).await
}

/// `POST /integrations/keys`.
pub async fn create(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Admin)?;
    let Some(description) = fields.get("description") else {
        return page(
            &console,
            &signed,
            Notice::bad("description: empty (allowed: a few words saying what the key is for)"),
            None,
        )
        .await;
    };
    if description.chars().count() > 200 {
        return page(&console, &signed, Notice::bad("description: too long (allowed: at most 200 characters)"), None)
            .await;
    }
    let mut permissions = Vec::new();
    for raw in fields.all("permissions") {
        match Permission::parse(&raw) {
            Some(p) if signed.allows(p) => permissions.push(p),
            Some(p) => {
                let message = format!("permissions: your key cannot grant '{}', which it does not hold", p.as_str());
                return page(&console, &signed, Notice::bad(message), None).await;
            }
            None => {
                let message = format!("permissions: “{raw}” is not a permission");
                return page(&console, &signed, Notice::bad(message), None).await;
            }
        }
    }
    if permissions.is_empty() {
        return page(&console, &signed, Notice::bad("permissions: none chosen (allowed: at least one)"), None).await;
    }
    let now = console.engine.clock.now();
    let issued = keys::issue(&*console.engine.store, &signed.company.id, description, permissions, now).await?;
    page(&console, &signed, None, Some(issued.token)).await
}

/// `POST /integrations/keys/{id}/revoke`.
pub async fn revoke(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let signed = posted.signed;
    signed.require(Permission::Admin)?;
    let now = console.engine.clock.now();
    let notice = if console.engine.revoke_api_key(&signed.company.id, &id, now).await? {
        Notice::ok("The key was revoked: requests with it are refused from now on.")
    } else {
        Notice::bad("There is no live key with that id.")
    };
    page(&console, &signed, notice, None).await
}
