//! The inspector's HTML: server-rendered, escaped with [`screenhook_web::escape`], in the
//! product's page shell and stylesheet. No script or style is inline (the Content-Security-Policy
//! allows only this origin's files): `/assets/inspector.js` creates bins, keeps the bin page
//! live by inserting fragments this module rendered (sent over server-sent events), checks a
//! typed secret, sets the answered status and deletes the bin, through the JSON API. It reads
//! what it needs from `data-` attributes, so there is one renderer.

use std::fmt::Write as _;

use screenhook_domain::time::utc;
use screenhook_web::{escape, standalone};

use crate::bins::{BinInfo, Captured, SenderVerdict};
use screenhook_webhooks::check::{ChecksSummary, Verdict};

/// The script of both pages, served from screenhook-web's assets.
pub const SCRIPT: &str = "/assets/inspector.js";

fn verdict(name: &str, verdict: &Verdict) -> String {
    match &verdict.reason {
        None => format!("<span class=\"badge ok\">✓ {name} valid</span>"),
        Some(reason) => format!("<span class=\"badge bad\">✗ {name}: {}</span>", escape(reason)),
    }
}

/// Both verdicts on one line.
pub fn verdicts(checks: &ChecksSummary) -> String {
    format!(
        "{} {}",
        verdict("X-CodeSignal-Signature", &checks.codesignal),
        verdict("webhook-signature", &checks.standard_webhooks)
    )
}

/// The badge class of an answered status: 2xx ok, 5xx bad (the sender retries), else warn.
fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        500..=599 => "bad",
        _ => "warn",
    }
}

/// One request, as a fragment of the page (also sent over the live stream).
pub fn request(request: &Captured) -> String {
    let mut html = String::new();
    let size = request.body.len();
    let truncated = if request.truncated { " (truncated)" } else { "" };
    let source = request.source.as_deref().map(|source| format!(" · from {}", escape(source))).unwrap_or_default();
    let _ = write!(
        html,
        "<article class=\"request\" id=\"r{seq}\"><div class=\"row\"><b>#{seq} {method}</b> <code>/in{path}</code> \
         <span class=\"muted small\">{time}{source} · {size} bytes{truncated}</span></div>",
        seq = request.seq,
        method = escape(&request.method),
        path = escape(&request.path),
        time = utc(request.received_at),
    );
    let sender = match &request.sender {
        SenderVerdict::Unknown => "<span class=\"muted\">No webhook of this server has this URL; type its secret \
             above to check the signatures.</span>"
            .to_owned(),
        SenderVerdict::NoSecret { webhook_id } => {
            format!("Sent by webhook <code>{}</code>, which has no secret: nothing is signed.", escape(webhook_id))
        }
        SenderVerdict::Checked { webhook_id, checks } => {
            format!("Webhook <code>{}</code>'s secret: {}", escape(webhook_id), verdicts(checks))
        }
    };
    let _ = write!(html, "<p class=\"sender\">{sender}</p><p class=\"typed\" hidden></p>");
    // As they came over the wire, one a line: long signatures scroll instead of widening the page.
    let _ = write!(html, "<details><summary>Headers ({})</summary><pre>", request.headers.len());
    for (k, (name, value)) in request.headers.iter().enumerate() {
        let _ = write!(html, "{}{}: {}", if k > 0 { "\n" } else { "" }, escape(name), escape(value));
    }
    html.push_str("</pre></details>");
    let body = match serde_json::from_slice::<serde_json::Value>(&request.body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&request.body).into_owned(),
    };
    if body.is_empty() {
        html.push_str("<p class=\"muted small\">No body.</p></article>");
    } else {
        let _ = write!(html, "<pre>{}</pre></article>", escape(&body));
    }
    html
}

/// The bin's live page.
pub fn bin(info: &BinInfo, url: &str, requests: &[std::sync::Arc<Captured>]) -> String {
    let id = escape(&info.id);
    let list: String = requests.iter().map(|captured| request(captured)).collect();
    let status = info.respond_with;
    let body = format!(
        r##"<section id="bin-page" data-bin="{id}" data-api="{id}" data-stream="{id}/stream" data-verify="{id}/verify" data-home="new">
<p class="crumbs"><a href="new">Webhook inspector</a></p>
<h1>Bin <code>{id}</code></h1>
<div class="card">
<p>Send webhooks to this URL (any method, any extra path after <code>/in</code>):</p>
<div class="secret-box" id="bin-url">{url}</div>
<p><button type="button" class="small secondary" data-copy="#bin-url">Copy the URL</button></p>
<table class="kv">
<tr><th>Answers with</th><td><span id="respond-with" class="badge {class}">{status}</span></td></tr>
<tr><th>Expires</th><td>{expires}</td></tr>
<tr><th>Requests dropped</th><td><span id="dropped">{dropped}</span> <span class="muted small">(beyond the bound, oldest first)</span></td></tr>
</table>
</div>
<div class="card">
<h2>Status to answer</h2>
<form id="status-form" class="row">
<label for="status-input">HTTP status</label>
<input id="status-input" name="respondWith" type="number" min="200" max="599" required value="{status}">
<button type="submit">Set status</button>
<span id="status-message" class="muted small" role="status"></span>
</form>
<p class="muted small">Answer 500 or 503 to rehearse the sender's retries; 200 to accept again.</p>
</div>
<div class="card">
<h2>Check signatures with a secret</h2>
<form id="secret-form" class="stack">
<label><span>Webhook secret</span><input id="secret" type="password" autocomplete="off"></label>
<label><span>Signed URL, if not the bin URL</span><input id="signed-url" type="url" placeholder="{url}"></label>
<button type="submit">Check every request</button>
</form>
</div>
<div class="page-head"><h2>Requests</h2><span id="live" class="badge">Connecting…</span></div>
<div id="empty" class="empty"{empty_hidden}><strong>No request yet</strong>Send one to the URL above: it appears here as it arrives.</div>
<div id="list">{list}</div>
<div class="card">
<h2>Delete this bin</h2>
<p class="muted">Its URL stops receiving and its requests are forgotten.</p>
<button type="button" id="delete-bin" class="danger" data-confirm="Delete bin {id} and every request it kept?">Delete this bin</button>
<span id="delete-message" class="bad small" role="status"></span>
</div>
</section>"##,
        url = escape(url),
        class = status_class(status),
        expires = utc(info.expires_at),
        dropped = info.dropped,
        empty_hidden = if requests.is_empty() { "" } else { " hidden" },
    );
    standalone(&format!("Inspector bin {}", info.id), &body, &[SCRIPT])
}

/// The inspector's home: one button creating a bin and opening its page.
pub fn home() -> String {
    let body = r#"<h1>Webhook inspector</h1>
<p>A bin is a receiving URL that keeps every request sent to it and shows it live, with whether
its signatures verify.</p>
<ol>
<li>Create a bin and copy its URL.</li>
<li>Point a webhook at it, invite yourself and begin the assessment as the candidate.</li>
<li>Watch the notification arrive on the bin's page.</li>
</ol>
<p class="row"><button type="button" id="create-bin" data-api="../inspect">Create a bin</button>
<span id="create-error" class="bad" role="alert"></span></p>
<p class="muted small">Bins live in this server's memory and expire; anyone with a bin's address can read it.</p>"#;
    standalone("Webhook inspector", body, &[SCRIPT])
}
