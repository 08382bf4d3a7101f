// The candidate's invitation page: posts its buttons' actions as JSON to the link's own
// endpoints and reloads to show the new state.
"use strict";
const base = location.pathname.replace(/\/$/, "");
const message = document.getElementById("message");
async function post(action, body) {
  const r = await fetch(base + "/" + action, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  const j = await r.json();
  if (!r.ok) { message.textContent = j.error.message; return false; }
  return true;
}
document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", async () => {
  if (await post(b.dataset.action)) location.reload();
}));
const form = document.getElementById("submit");
if (form) form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { score: Number(form.score.value) };
  if (form.maxScore) body.maxScore = Number(form.maxScore.value);
  if (await post("submit", body)) location.reload();
});
const root = document.getElementById("candidate");
if (root && root.dataset.open === "true") post("open");
