//! The inspector's HTML: server-rendered and escaped. The live page's small script only
//! inserts fragments this module rendered (sent over server-sent events) and asks the
//! server to check a typed secret, so there is one renderer.

use std::fmt::Write as _;

use crate::bins::{BinInfo, Captured, SenderVerdict};
use crate::check::{ChecksSummary, Verdict};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// `YYYY-MM-DD hh:mm:ss.mmm UTC` for milliseconds since the epoch.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}\
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.8em;overflow:auto}\
.req{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;margin:1em 0}\
.ok{color:#06752c}.bad{color:#b00020}.muted{color:#666}table{border-collapse:collapse}\
td{padding:1px 8px;vertical-align:top}td:first-child{font-weight:600}";

fn verdict(name: &str, verdict: &Verdict) -> String {
    match &verdict.reason {
        None => format!("<span class=\"ok\">✓ {name} valid</span>"),
        Some(reason) => format!("<span class=\"bad\">✗ {name}: {}</span>", escape(reason)),
    }
}

/// Both verdicts on one line.
pub fn verdicts(checks: &ChecksSummary) -> String {
    format!(
        "{} · {}",
        verdict("X-CodeSignal-Signature", &checks.codesignal),
        verdict("webhook-signature", &checks.standard_webhooks)
    )
}

/// One request, as a fragment of the page (also sent over the live stream).
pub fn request(request: &Captured) -> String {
    let mut html = String::new();
    let size = request.body.len();
    let truncated = if request.truncated { " (truncated)" } else { "" };
    let source = request.source.as_deref().map(|source| format!(" from {}", escape(source))).unwrap_or_default();
    let _ = write!(
        html,
        "<article class=\"req\" id=\"r{seq}\"><div><b>#{seq} {method}</b> <code>/in{path}</code> \
         <span class=\"muted\">{time}{source} · {size} bytes{truncated}</span></div>",
        seq = request.seq,
        method = escape(&request.method),
        path = escape(&request.path),
        time = utc(request.received_at.as_millis()),
    );
    let sender = match &request.sender {
        SenderVerdict::Unknown => {
            "<span class=\"muted\">No webhook of this server has this URL; type its secret above to check \
             the signatures.</span>"
                .to_owned()
        }
        SenderVerdict::NoSecret { webhook_id } => {
            format!("Sent by webhook <code>{}</code>, which has no secret: nothing is signed.", escape(webhook_id))
        }
        SenderVerdict::Checked { webhook_id, checks } => {
            format!("Webhook <code>{}</code>'s secret: {}", escape(webhook_id), verdicts(checks))
        }
    };
    let _ = write!(html, "<div class=\"sender\">{sender}</div><div class=\"typed\"></div>");
    html.push_str("<details><summary>Headers</summary><table>");
    for (name, value) in &request.headers {
        let _ = write!(html, "<tr><td>{}</td><td><code>{}</code></td></tr>", escape(name), escape(value));
    }
    html.push_str("</table></details>");
    let body = match serde_json::from_slice::<serde_json::Value>(&request.body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&request.body).into_owned(),
    };
    let _ = write!(html, "<pre>{}</pre></article>", escape(&body));
    html
}

/// The bin's live page.
pub fn bin(info: &BinInfo, url: &str, requests: &[std::sync::Arc<Captured>]) -> String {
    let id = escape(&info.id);
    let list: String = requests.iter().map(|captured| request(captured)).collect();
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Inspector bin {id}</title>
<style>{STYLE}</style></head><body>
<h1>Inspector bin</h1>
<p>Send webhooks to <code id="url">{url}</code> (any method, any extra path). It answers
<b>{status}</b>. Expires {expires}. Requests dropped (beyond the bound, oldest first): <b id="dropped">{dropped}</b>.</p>
<form id="secret-form"><label>Check signatures with a secret: <input id="secret" type="password" autocomplete="off" size="40"></label>
<label>signed URL (if not the bin URL): <input id="signed-url" size="40"></label> <button>Check</button></form>
<p class="muted" id="live">Connecting…</p>
<div id="list">{list}</div>
<script>
const bin = "{id}";
const list = document.getElementById("list");
const status = document.getElementById("live");
async function checkSecret() {{
  const secret = document.getElementById("secret").value;
  if (!secret) return;
  const url = document.getElementById("signed-url").value || undefined;
  const res = await fetch(bin + "/verify", {{ method: "POST", headers: {{ "content-type": "application/json" }},
    body: JSON.stringify({{ secret, url }}) }});
  const data = await res.json();
  for (const r of data.results || []) {{
    const el = document.querySelector("#r" + r.seq + " .typed");
    if (!el) continue;
    const show = (name, v) => (v.valid ? "✓ " + name + " valid" : "✗ " + name + ": " + v.reason);
    el.textContent = "Typed secret: " + show("X-CodeSignal-Signature", r.signatures.codesignal) + " · " +
      show("webhook-signature", r.signatures.standardWebhooks);
    el.className = "typed " + (r.signatures.codesignal.valid && r.signatures.standardWebhooks.valid ? "ok" : "bad");
  }}
}}
document.getElementById("secret-form").addEventListener("submit", (e) => {{ e.preventDefault(); checkSecret(); }});
const events = new EventSource(bin + "/stream");
events.onopen = () => {{ status.textContent = "Live: new requests appear at the top."; }};
events.onerror = () => {{ status.textContent = "Disconnected (the bin may have expired); retrying…"; }};
events.addEventListener("request", (e) => {{
  const data = JSON.parse(e.data);
  list.insertAdjacentHTML("afterbegin", data.html);
  document.getElementById("dropped").textContent = data.dropped;
  checkSecret();
}});
</script></body></html>"##,
        url = escape(url),
        status = info.respond_with,
        expires = utc(info.expires_at.as_millis()),
        dropped = info.dropped,
    )
}

/// The inspector's home: one button creating a bin and opening its page.
pub fn home() -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>screenhook inspector</title>
<style>{STYLE}</style></head><body>
<h1>Webhook inspector</h1>
<p>A bin is a receiving URL that keeps every request sent to it and shows it live, with whether
its signatures verify. Point a webhook at it, invite yourself, begin the assessment as the
candidate and watch the notification arrive.</p>
<button id="create">Create a bin</button> <span id="error" class="bad"></span>
<script>
document.getElementById("create").addEventListener("click", async () => {{
  const res = await fetch("../inspect", {{ method: "POST" }});
  const data = await res.json();
  if (res.ok) location.href = data.pageUrl; else document.getElementById("error").textContent = data.error.message;
}});
</script></body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn formats_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(1_750_000_000_123), "2025-06-15 15:06:40.123 UTC");
    }
}
