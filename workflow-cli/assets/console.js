// The console's pages: they read the JSON API and build the DOM with textContent only (the
// store's text is never parsed as HTML).
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    if (cell instanceof Node) {
      const td = document.createElement("td");
      td.appendChild(cell);
      tr.appendChild(td);
    } else {
      tr.appendChild(el("td", cell));
    }
  }
  return tr;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status}`);
  return body;
}

function showError(error) {
  const box = $("error");
  box.textContent = error.message || String(error);
  box.hidden = false;
}

const cost = (usd) => (usd > 0 ? `$${usd.toFixed(4)}` : "–");
const tokens = (usage) => `${usage.usage.input_tokens} / ${usage.usage.output_tokens}`;

// ---- the run list ----

async function runsPage() {
  const form = $("filter");
  const params = new URLSearchParams(location.search);
  form.status.value = params.get("status") || "";
  form.workflow.value = params.get("workflow") || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (form.status.value) next.set("status", form.status.value);
    if (form.workflow.value) next.set("workflow", form.workflow.value);
    location.search = next.toString();
  });
  await loadRuns(params, false);
}

async function loadRuns(params, append) {
  const query = new URLSearchParams();
  for (const key of ["status", "workflow", "after"]) {
    if (params.get(key)) query.set(key, params.get(key));
  }
  let page;
  try {
    page = await getJson(`/api/runs?${query}`);
  } catch (error) {
    showError(error);
    return;
  }
  const body = $("runs").tBodies[0];
  if (!append) body.replaceChildren();
  for (const run of page.runs) {
    const link = el("a", run.id);
    link.href = `/runs/${run.id}`;
    // A child run (a workflow run as a step of its parent) names that step.
    const workflow = run.parent_step ? `${run.workflow} (step ${run.parent_step} of a run)` : run.workflow;
    body.appendChild(row([link, workflow, el("span", run.status, `status ${run.status}`),
      run.step, run.version, run.spent ? cost(run.spent.cost_usd) : "?", run.updated_at]));
  }
  $("empty").hidden = body.rows.length > 0;
  const more = $("more");
  more.hidden = !page.next;
  more.onclick = (event) => {
    event.preventDefault();
    params.set("after", page.next);
    loadRuns(params, true);
  };
}

// ---- a run ----

// How many of a run's latest checkpoints its page shows.
const TIMELINE = 200;

async function runPage() {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  $("run-id").textContent = id;
  const console = await getJson("/api/console");
  readOnly = console.read_only;
  $("cancel").onclick = () => cancelRun(id);
  await loadRun(id);
  follow(id);
}

// Whether the console changes nothing (`workflow serve --read-only`).
let readOnly = true;

// Forks the run shown at `checkpoint` and opens the new run's page.
async function forkRun(checkpoint) {
  const id = $("run-id").textContent;
  try {
    const response = await fetch(`/api/runs/${id}/fork?checkpoint=${checkpoint}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Workflow-Console": "1" },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status}`);
    location.href = `/runs/${body.run}`;
  } catch (error) {
    showError(error);
  }
}

async function cancelRun(id) {
  const button = $("cancel");
  button.disabled = true;
  try {
    const response = await fetch(`/api/runs/${id}/cancel`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Workflow-Console": "1" },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status}`);
    await loadRun(id);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

async function loadRun(id) {
  let run, history;
  try {
    run = await getJson(`/api/runs/${id}`);
    // The latest checkpoints only: a long loop has thousands.
    const from = Math.max(0, run.version + 1 - TIMELINE);
    history = await getJson(`/api/runs/${id}/history?from=${from}&limit=${TIMELINE}`);
  } catch (error) {
    showError(error);
    return;
  }
  $("error").hidden = true;
  document.title = `${run.workflow} ${run.status} · workflow`;
  $("workflow").textContent = run.workflow;
  const status = $("status");
  status.textContent = run.status;
  status.className = `status ${run.status}`;
  // A child run moves with its parent only: cancel the parent.
  $("cancel").hidden = readOnly || !!run.parent_step || !["running", "suspended"].includes(run.status);

  const facts = $("facts");
  facts.replaceChildren();
  const fact = (name, value) => {
    if (value === null || value === undefined) return;
    facts.append(el("dt", name), el("dd", value));
  };
  fact("step", run.step);
  fact("checkpoint", run.version);
  fact("definition", run.fingerprint);
  fact("error", run.error);
  fact("waits", run.awaits && (run.awaits.until
    ? `asleep until ${run.awaits.until}`
    : `for a ${run.awaits.signal} message`));
  fact("owner", run.owner && `${run.owner} (lease until ${run.lease_expires})`);
  if (run.parent && run.parent_step) {
    const link = el("a", run.parent.run);
    link.href = `/runs/${run.parent.run}`;
    const dd = el("dd");
    dd.append(link, ` step ${run.parent_step} (from its checkpoint ${run.parent.checkpoint})`);
    facts.append(el("dt", "child of"), dd);
  } else {
    fact("forked from", run.parent && `${run.parent.run} at checkpoint ${run.parent.checkpoint}`);
  }
  fact("created", run.created_at);
  fact("updated", run.updated_at);
  const calls = run.usage.total.calls;
  fact("spent", `${calls} call${calls === 1 ? "" : "s"}, ${tokens(run.usage.total)} tokens, ${cost(run.usage.total.cost_usd)}`);

  $("pause").hidden = !run.pause;
  if (run.pause) {
    // A pause inside a step waits for a human's approval of the tool call it shows.
    $("pause-step").textContent = run.pause.approval
      ? `${run.pause.step} (approval of a call of tool ${run.pause.asks.tool})`
      : run.pause.step;
    $("pause-token").textContent = run.pause.token;
    $("pause-asks").textContent = JSON.stringify(run.pause.asks, null, 2);
  }

  const children = run.children || [];
  $("children-section").hidden = children.length === 0;
  const childRows = $("children").tBodies[0];
  childRows.replaceChildren();
  for (const child of children) {
    const link = el("a", child.id);
    link.href = `/runs/${child.id}`;
    childRows.appendChild(row([link, child.workflow, child.parent_step,
      el("span", child.status, `status ${child.status}`), child.step]));
  }

  showAnswerForm(id, run);
  drawGraph(run, history.checkpoints).catch(showError);
  drawPath(run, history.checkpoints);
  timeline = history.checkpoints;
  drawTimeline();
  const first = history.checkpoints.length ? history.checkpoints[0].checkpoint : 0;
  const earlier = $("earlier");
  earlier.hidden = first === 0;
  earlier.textContent = `${first} earlier checkpoints are not shown (workflow history ${id} --limit ${first}).`;
  const spent = $("spent").tBodies[0];
  spent.replaceChildren();
  for (const { step, usage } of run.usage.steps) {
    spent.appendChild(row([step, usage.calls, usage.failed_calls, tokens(usage), cost(usage.cost_usd)]));
  }
  $("state").textContent = JSON.stringify(run.state, null, 2);
  await loadEvents(id);
}

// The run's event log, newest last: the latest EVENTS entries, read on from where the last
// read stopped.
const EVENTS = 200;
const eventLog = { next: 0, entries: [] };

async function loadEvents(id) {
  try {
    for (;;) {
      // The first read takes the log's end: a long run's log is not read from its start.
      const range = eventLog.next === 0 ? `last=${EVENTS}` : `from=${eventLog.next}&limit=1000`;
      const page = await getJson(`/api/runs/${id}/events?${range}`);
      for (const entry of page.events) {
        if (entry.seq < eventLog.next) continue; // read already, by a reload that overlapped
        eventLog.entries.push(entry);
        eventLog.next = entry.seq + 1;
      }
      eventLog.entries.splice(0, Math.max(0, eventLog.entries.length - EVENTS));
      if (page.next === null) break;
    }
  } catch (error) {
    showError(error);
    return;
  }
  drawTimeline();
  const body = $("events").tBodies[0];
  body.replaceChildren(...eventLog.entries.map((entry) =>
    row([entry.seq, entry.at, entry.type, entry.step, entry.summary])));
  const first = eventLog.entries.length ? eventLog.entries[0].seq : 0;
  const earlier = $("earlier-events");
  earlier.hidden = first === 0;
  earlier.textContent = `${first} earlier events are not shown (workflow events ${id} --limit ${first}).`;
}

// The form that answers the pause the run waits at: the server checks the answer against
// what the pause takes, and says why not.
function showAnswerForm(id, run) {
  const form = $("answer-form");
  form.hidden = readOnly || !run.pause;
  if (!run.pause) return;
  $("pause-takes").textContent = run.pause.takes || "value";
  $("answer-value").placeholder = run.pause.approval
    ? '"allow", {"deny": {"reason": "…"}} or {"edit": {"arguments": {…}}}'
    : "";
  form.onsubmit = async (event) => {
    event.preventDefault();
    const error = $("answer-error");
    error.hidden = true;
    try {
      JSON.parse($("answer-value").value);
    } catch (parse) {
      error.textContent = `not JSON: ${parse.message}`;
      error.hidden = false;
      return;
    }
    const response = await fetch(`/api/runs/${id}/answer?checkpoint=${run.pause.checkpoint}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Workflow-Console": "1", "Content-Type": "application/json" },
      body: $("answer-value").value,
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = body.error || `${response.status}`;
      error.hidden = false;
      return;
    }
    $("answer-done").textContent = "Answer recorded: a worker gives it to the run.";
    $("answer-done").hidden = false;
  };
}

// The run's graph, from the Mermaid diagram its store recorded, with the steps it finished,
// the step it stands at and a failed step marked.
let drawn = "";
async function drawGraph(run, checkpoints) {
  const diagram = run.definition && run.definition.mermaid;
  $("graph-section").hidden = !diagram || !window.mermaid;
  if (!diagram || !window.mermaid) return;
  const node = (step) => {
    const found = diagram.match(new RegExp(`^\\s+((?:\\d+_)?${step.replace(/[^\w]/g, "")})[\\[\\(\\{>/]`, "m"));
    return found && found[1];
  };
  const marks = [];
  for (const checkpoint of checkpoints) {
    const id = node(checkpoint.step);
    if (id && checkpoint.step !== run.step) marks.push(`class ${id} done`);
  }
  const here = node(run.step);
  if (here) marks.push(`class ${here} ${run.status === "failed" ? "failed" : "current"}`);
  const text = `${diagram}
    classDef done fill:#dcf5e3,stroke:#2e7d32
    classDef current fill:#fff1b8,stroke:#b8860b,stroke-width:3px
    classDef failed fill:#fde0e0,stroke:#c62828,stroke-width:3px
    ${marks.join("\n    ")}
`;
  if (text === drawn) return;
  drawn = text;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  const { svg } = await window.mermaid.render(`graph-svg-${Date.now()}`, text);
  const graph = $("graph");
  graph.innerHTML = svg; // Mermaid's own SVG, sanitized by it in strict mode
  graph.dataset.current = run.step;
}

// The steps the run went through, from its checkpoints: done, then where it stands.
function drawPath(run, checkpoints) {
  const path = $("path");
  path.replaceChildren();
  const steps = [];
  for (const checkpoint of checkpoints) {
    if (steps[steps.length - 1] !== checkpoint.step) steps.push(checkpoint.step);
  }
  steps.forEach((step, index) => {
    const last = index === steps.length - 1;
    let state = "done";
    if (last && run.status === "failed") state = "failed";
    else if (last && run.status === "suspended") state = "waiting";
    else if (last && run.status === "running") state = "current";
    const item = el("li", step, state);
    item.dataset.state = state;
    path.appendChild(item);
  });
}

// The checkpoints the timeline shows: the run's latest.
let timeline = [];

// One row per checkpoint: the step it is before, when it was written, and what that step
// took until the next checkpoint, its retries (from the event log) included.
function drawTimeline() {
  const checkpoints = timeline;
  const retries = retriesPerCheckpoint(checkpoints);
  const body = $("timeline").tBodies[0];
  body.replaceChildren();
  checkpoints.forEach((checkpoint, index) => {
    const next = checkpoints[index + 1];
    let took = "", calls = "", toks = "", spent = "";
    if (next) {
      took = `${((Date.parse(next.created_at) - Date.parse(checkpoint.created_at)) / 1000).toFixed(3)} s`;
      const before = checkpoint.usage.total, after = next.usage.total;
      calls = after.calls - before.calls;
      toks = `${after.usage.input_tokens - before.usage.input_tokens} / ${after.usage.output_tokens - before.usage.output_tokens}`;
      spent = cost(after.cost_usd - before.cost_usd);
    }
    let fork = "";
    if (!readOnly) {
      fork = el("button", "fork");
      fork.type = "button";
      fork.title = "Start a new run from this checkpoint, for a worker to drive";
      fork.onclick = () => forkRun(checkpoint.checkpoint);
    }
    body.appendChild(row([checkpoint.checkpoint, checkpoint.step, checkpoint.status,
      checkpoint.created_at, took, retries[index], calls, toks, spent, fork]));
  });
}

// How many times the step of each checkpoint was retried, from the `retrying` events of the
// run's own steps in the event log: each counts for the latest checkpoint of its step written
// before it. Blank for a checkpoint older than the events read, and for `end`.
function retriesPerCheckpoint(checkpoints) {
  const first = eventLog.entries.length ? eventLog.entries[0] : null;
  const known = (checkpoint) => first !== null && checkpoint.step !== "end"
    && (first.seq === 0 || Date.parse(checkpoint.created_at) >= Date.parse(first.at));
  const counts = checkpoints.map((checkpoint) => (known(checkpoint) ? 0 : ""));
  for (const entry of eventLog.entries) {
    const event = entry.event;
    if (entry.type !== "retrying" || event.path) continue;
    const at = Date.parse(entry.at);
    for (let index = checkpoints.length - 1; index >= 0; index--) {
      const checkpoint = checkpoints[index];
      if (checkpoint.step === event.step && Date.parse(checkpoint.created_at) <= at) {
        if (counts[index] !== "") counts[index] += 1;
        break;
      }
    }
  }
  return counts;
}

// Live updates: each change of the run reloads its page, until it ends.
function follow(id) {
  if (!window.EventSource) return;
  const source = new EventSource(`/api/runs/${id}/live`);
  let first = true;
  source.addEventListener("run", (event) => {
    $("live").hidden = false;
    const run = JSON.parse(event.data);
    if (!first) loadRun(id);
    first = false;
    if (["finished", "failed", "cancelled"].includes(run.status)) {
      source.close();
      $("live").hidden = true;
      // The run's last events are logged just after its last checkpoint.
      setTimeout(() => loadEvents(id), 1000);
    }
  });
  source.addEventListener("gone", () => source.close());
}

const pages = { runs: runsPage, run: runPage };
(pages[document.body.dataset.page] || (() => {}))().catch(showError);
