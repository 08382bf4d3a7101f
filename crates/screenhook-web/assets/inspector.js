// screenhook webhook inspector: create a bin (/inspect/new), and keep a bin's page live
// (/inspect/{bin}): new requests over server-sent events, a typed secret checked by the
// server, the answered status, deletion. Every URL comes from the page's data- attributes;
// the server renders every fragment, this file only inserts them.
"use strict";

(() => {
  const errorOf = async (response) => {
    try {
      const data = await response.json();
      if (data && data.error && data.error.message) return data.error.message;
    } catch (_) { /* not JSON */ }
    return `${response.status} ${response.statusText}`;
  };

  // The home page: create a bin and open it.
  const create = document.getElementById("create-bin");
  if (create) {
    const error = document.getElementById("create-error");
    create.addEventListener("click", async () => {
      create.disabled = true;
      error.textContent = "";
      try {
        const response = await fetch(create.dataset.api, { method: "POST" });
        if (response.ok) {
          location.href = (await response.json()).pageUrl;
          return;
        }
        error.textContent = await errorOf(response);
      } catch (err) {
        error.textContent = String(err);
      }
      create.disabled = false;
    });
  }

  const page = document.getElementById("bin-page");
  if (!page) return;
  const list = document.getElementById("list");
  const empty = document.getElementById("empty");
  const live = document.getElementById("live");

  // Copy the bin URL.
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const target = document.querySelector(button.dataset.copy);
      if (!target) return;
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = "Copied";
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: copy it";
      }
    });
  });

  // Check every kept request with a typed secret.
  const badge = (ok, text) => {
    const span = document.createElement("span");
    span.className = ok ? "badge ok" : "badge bad";
    span.textContent = text;
    return span;
  };
  const verdict = (name, v) => badge(v.valid, v.valid ? `✓ ${name} valid` : `✗ ${name}: ${v.reason}`);
  async function checkSecret() {
    const secret = document.getElementById("secret").value;
    if (!secret) return;
    const url = document.getElementById("signed-url").value || undefined;
    const response = await fetch(page.dataset.verify, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ secret, url }),
    });
    if (!response.ok) {
      window.alert(await errorOf(response));
      return;
    }
    for (const r of (await response.json()).results || []) {
      const el = document.querySelector(`#r${r.seq} .typed`);
      if (!el) continue;
      el.replaceChildren(
        document.createTextNode("Typed secret: "),
        verdict("X-CodeSignal-Signature", r.signatures.codesignal),
        document.createTextNode(" "),
        verdict("webhook-signature", r.signatures.standardWebhooks),
      );
      el.hidden = false;
    }
  }
  document.getElementById("secret-form").addEventListener("submit", (e) => {
    e.preventDefault();
    checkSecret();
  });

  // The status the bin answers.
  const statusForm = document.getElementById("status-form");
  const statusInput = document.getElementById("status-input");
  const statusMessage = document.getElementById("status-message");
  const respondWith = document.getElementById("respond-with");
  const statusClass = (s) => (s >= 200 && s < 300 ? "ok" : s >= 500 ? "bad" : "warn");
  statusForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = statusForm.querySelector("button");
    button.disabled = true;
    statusMessage.className = "muted small";
    statusMessage.textContent = "Saving…";
    try {
      const response = await fetch(page.dataset.api, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ respondWith: Number(statusInput.value) }),
      });
      if (response.ok) {
        const status = (await response.json()).respondWith;
        respondWith.textContent = status;
        respondWith.className = `badge ${statusClass(status)}`;
        statusInput.value = status;
        statusMessage.textContent = `Now answering ${status}.`;
      } else {
        statusMessage.className = "bad small";
        statusMessage.textContent = await errorOf(response);
      }
    } catch (err) {
      statusMessage.className = "bad small";
      statusMessage.textContent = String(err);
    } finally {
      button.disabled = false;
    }
  });

  // New requests, as they arrive.
  const events = new EventSource(page.dataset.stream);
  events.onopen = () => {
    live.className = "badge ok";
    live.textContent = "Live: new requests appear at the top";
  };
  events.onerror = () => {
    live.className = "badge warn";
    live.textContent = "Disconnected (the bin may have expired); retrying…";
  };
  events.addEventListener("request", (e) => {
    const data = JSON.parse(e.data);
    if (document.getElementById(`r${data.seq}`)) return;
    list.insertAdjacentHTML("afterbegin", data.html);
    empty.hidden = true;
    document.getElementById("dropped").textContent = data.dropped;
    checkSecret();
  });

  // Delete the bin, then go back to the inspector's home.
  const remove = document.getElementById("delete-bin");
  remove.addEventListener("click", async () => {
    if (!window.confirm(remove.dataset.confirm)) return;
    const message = document.getElementById("delete-message");
    remove.disabled = true;
    try {
      const response = await fetch(page.dataset.api, { method: "DELETE" });
      if (response.ok || response.status === 404) {
        events.close();
        location.href = page.dataset.home;
        return;
      }
      message.textContent = await errorOf(response);
    } catch (err) {
      message.textContent = String(err);
    }
    remove.disabled = false;
  });
})();
