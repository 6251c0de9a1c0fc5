// The Enterprise jobs page: reads and acts through the plugin API with the Airflow UI's session cookie.
// Every URL is relative to this page (<base>/enterprise/ui/), so the page works behind a path prefix.
"use strict";

const API = "../api/v1";
const PAGE_SIZE = 25;
let jobsOffset = 0;

function show(text, isError = false) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = isError ? "error" : "";
}

async function call(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store", ...options });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    throw new Error("Not logged in to Airflow: log in, then reload this page.");
  }
  if (!response.ok) {
    throw new Error(body.detail ? `${response.status}: ${JSON.stringify(body.detail)}` : `HTTP ${response.status}`);
  }
  return body;
}

function cell(row, value, className) {
  const td = row.insertCell();
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (className) td.className = className;
  return td;
}

function stateCell(row, state) {
  const span = document.createElement("span");
  span.className = `state state-${state}`;
  span.textContent = state;
  row.insertCell().appendChild(span);
}

// A table shows the answer to its latest request only: an older one answering late is dropped.
const latest = {};
function request(tableId) {
  latest[tableId] = (latest[tableId] || 0) + 1;
  const mine = latest[tableId];
  return () => latest[tableId] === mine;
}

function fill(tableId, items, columns, render) {
  const body = document.querySelector(`[data-testid="${tableId}"] tbody`);
  body.replaceChildren();
  if (items.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = "none";
  }
  for (const item of items) render(body.insertRow(), item);
}

function actionButton(row, label, testId, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.dataset.testid = testId;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await onClick();
    } catch (err) {
      show(err.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function when(date) {
  return date ? new Date(date).toLocaleString() : "";
}

async function loadHealth() {
  const badge = document.getElementById("health");
  const response = await fetch("../health", { credentials: "same-origin" });
  const health = await response.json().catch(() => ({ status: "unhealthy" }));
  // a Spark that could not be asked leaves the installation serving, but the badge says so
  const shown = health.status === "healthy" && health.spark?.status === "unknown" ? "unknown" : health.status;
  badge.textContent = shown === "unknown" ? "health: spark unknown" : `health: ${shown}`;
  badge.className = `badge state-${shown}`;
  badge.title = health.registry ? `registry: ${health.registry.detail}\nspark: ${health.spark.detail}` : "";
}

async function loadDeadLetters() {
  const status = document.getElementById("dead-letter-status").value;
  const current = request("dead-letters");
  const page = await call(`${API}/dead-letters?limit=100${status ? `&status=${status}` : ""}`);
  if (!current()) return;
  fill("dead-letters", page.dead_letters, 8, (row, letter) => {
    row.dataset.testid = `dead-letter-${letter.dead_letter_id}`;
    cell(row, letter.dead_letter_id);
    cell(row, letter.dag_id);
    cell(row, letter.run_id);
    cell(row, letter.task_id);
    cell(row, `${letter.error_class}: ${letter.error_message}`, "error");
    cell(row, letter.attempt_count);
    stateCell(row, letter.status);
    const actions = row.insertCell();
    if (letter.status === "open") {
      actions.append(
        actionButton(row, "Replay", `replay-${letter.dead_letter_id}`, async () => {
          const replay = await call(`${API}/dead-letters/${letter.dead_letter_id}/replay`, { method: "POST" });
          show(`Dead letter ${replay.dead_letter_id}: ${replay.created ? "triggered" : "already triggered"} run ${replay.run_id} of ${replay.dag_id}`);
          await loadAll();
        }),
        " ",
        actionButton(row, "Discard", `discard-${letter.dead_letter_id}`, async () => {
          await call(`${API}/dead-letters/${letter.dead_letter_id}/discard`, { method: "POST" });
          show(`Dead letter ${letter.dead_letter_id} discarded`);
          await loadAll();
        }),
      );
    } else if (letter.replay_run_id) {
      actions.textContent = `run ${letter.replay_run_id}`;
    }
  });
}

async function loadJobs() {
  const dag = document.getElementById("job-dag").value.trim();
  const status = document.getElementById("job-status").value;
  const query = new URLSearchParams({ limit: PAGE_SIZE, offset: jobsOffset });
  if (dag) query.set("dag_id", dag);
  if (status) query.set("status", status);
  const current = request("jobs");
  const page = await call(`${API}/jobs?${query}`);
  if (!current()) return;
  fill("jobs", page.jobs, 8, (row, job) => {
    row.dataset.testid = `job-${job.job_id}`;
    row.insertCell().append(actionButton(row, String(job.job_id), `show-job-${job.job_id}`, () => loadJob(job.job_id)));
    cell(row, job.dag_id);
    cell(row, job.run_id);
    cell(row, job.map_index >= 0 ? `${job.task_id}[${job.map_index}]` : job.task_id);
    cell(row, job.job_name);
    stateCell(row, job.status);
    cell(row, job.attempt_count);
    cell(row, when(job.created_at));
  });
  const last = Math.min(jobsOffset + PAGE_SIZE, page.total_entries);
  document.getElementById("jobs-page").textContent =
    page.total_entries ? `${jobsOffset + 1}-${last} of ${page.total_entries}` : "0 jobs";
  document.getElementById("jobs-prev").disabled = jobsOffset === 0;
  document.getElementById("jobs-next").disabled = last >= page.total_entries;
}

// A job's detail: its attempts (rows in and out, bad rows, error) and the latest attempt's data-quality checks.
async function loadJob(jobId) {
  const job = await call(`${API}/jobs/${jobId}`);
  document.getElementById("job-detail-title").textContent =
    `Job ${job.job_id}: ${job.job_name} (${job.dag_id} / ${job.run_id} / ${job.task_id})`;
  fill("job-attempts", job.attempts, 8, (row, attempt) => {
    cell(row, attempt.try_number);
    stateCell(row, attempt.status);
    cell(row, attempt.engine);
    cell(row, attempt.rows_in);
    cell(row, attempt.rows_out);
    cell(row, attempt.bad_rows);
    cell(row, attempt.output_path);
    cell(row, attempt.error_class ? `${attempt.error_class}: ${attempt.error_message}` : "", "error");
  });
  const latest = job.attempts.length ? job.attempts[job.attempts.length - 1] : { checks: [] };
  fill("job-checks", latest.checks, 7, (row, check) => {
    cell(row, check.name);
    cell(row, check.type);
    cell(row, check.target);
    cell(row, check.severity);
    stateCell(row, check.outcome);
    cell(row, typeof check.observed === "object" ? JSON.stringify(check.observed) : check.observed, "wrap");
    cell(row, check.message, "wrap");
  });
  document.getElementById("job-detail").hidden = false;
}

async function loadCircuits() {
  const current = request("circuits");
  const page = await call(`${API}/circuits`);
  if (!current()) return;
  fill("circuits", page.circuits, 6, (row, circuit) => {
    cell(row, circuit.name);
    stateCell(row, circuit.state);
    cell(row, circuit.consecutive_failures);
    cell(row, circuit.total_failures);
    cell(row, circuit.total_successes);
    const actions = row.insertCell();
    if (circuit.state !== "closed") {
      actions.append(
        actionButton(row, "Reset", `reset-${circuit.name}`, async () => {
          await call(`${API}/circuits/${encodeURIComponent(circuit.name)}/reset`, { method: "POST" });
          show(`Circuit ${circuit.name} closed`);
          await loadAll();
        }),
      );
    }
  });
}

async function loadAll() {
  loadHealth().catch(() => {});
  try {
    await Promise.all([loadDeadLetters(), loadJobs(), loadCircuits()]);
  } catch (err) {
    show(err.message, true);
  }
}

document.getElementById("refresh").addEventListener("click", loadAll);
document.getElementById("dead-letter-status").addEventListener("change", loadAll);
document.getElementById("job-status").addEventListener("change", () => { jobsOffset = 0; loadAll(); });
document.getElementById("job-dag").addEventListener("change", () => { jobsOffset = 0; loadAll(); });
document.getElementById("jobs-prev").addEventListener("click", () => { jobsOffset = Math.max(0, jobsOffset - PAGE_SIZE); loadJobs().catch((err) => show(err.message, true)); });
document.getElementById("jobs-next").addEventListener("click", () => { jobsOffset += PAGE_SIZE; loadJobs().catch((err) => show(err.message, true)); });
document.body.dataset.ready = "false";
loadAll().finally(() => { document.body.dataset.ready = "true"; });
