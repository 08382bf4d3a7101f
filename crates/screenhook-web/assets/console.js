// screenhook console: small progressive enhancements. Every page works without this file;
// it adds confirmations, copy buttons, event presets and the live simulator feed.
"use strict";

// <form data-confirm="…">: ask before destructive posts.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  });
});

// <button data-copy="#id">: copy an element's text.
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async (e) => {
    e.preventDefault();
    const target = document.querySelector(button.dataset.copy);
    if (!target) return;
    try {
      await navigator.clipboard.writeText(target.value || target.textContent.trim());
      button.textContent = "Copied";
    } catch (_) {
      button.textContent = "Select and copy";
    }
  });
});

// <button data-preset="a b c" data-for="name">: tick exactly those event checkboxes.
document.querySelectorAll("button[data-preset]").forEach((button) => {
  button.addEventListener("click", (e) => {
    e.preventDefault();
    const wanted = new Set(button.dataset.preset.split(" "));
    document.querySelectorAll(`input[type=checkbox][name="${button.dataset.for}"]`).forEach((box) => {
      box.checked = wanted.has(box.value);
    });
  });
});

// <button data-reveal="#id">: show a hidden secret.
document.querySelectorAll("button[data-reveal]").forEach((button) => {
  button.addEventListener("click", (e) => {
    e.preventDefault();
    const target = document.querySelector(button.dataset.reveal);
    if (target) { target.hidden = false; button.hidden = true; }
  });
});

// The simulator: run it and show each notification as it is fired and delivered.
const sim = document.getElementById("simulate-form");
if (sim) {
  sim.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = sim.querySelector("button"), status = document.getElementById("sim-status");
    const feed = document.getElementById("sim-feed"), report = document.getElementById("sim-report");
    button.disabled = true; feed.innerHTML = ""; report.innerHTML = ""; status.textContent = "Running…";
    const body = new URLSearchParams(new FormData(sim));
    try {
      const response = await fetch(sim.action, { method: "POST", body, headers: { Accept: "text/event-stream" } });
      if (!response.ok || !response.body) {
        status.textContent = (await response.text()).replace(/<[^>]*>/g, " ").trim().slice(0, 300);
        return;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const kind = (frame.match(/^event: (.*)$/m) || [])[1];
          const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (kind === "step") feed.insertAdjacentHTML("beforeend", data);
          if (kind === "report") { report.innerHTML = data; status.textContent = "Finished."; }
          if (kind === "failed") status.textContent = data;
        }
      }
    } catch (err) {
      status.textContent = String(err);
    } finally {
      button.disabled = false;
    }
  });
}
