// Reports a GitHub Actions job to Pipeline Pulse (POST /api/events/run): once with `running` at
// the start of the job, once with `job.status` at the end. Only Node's built-ins, with no
// dependencies and no build step, so the file in the repository is the action and it runs on any
// runner, self-hosted Windows included.
//
// A report that fails never fails the job unless `fail-on-error` is true: a dashboard outage must
// not turn a green build red.

import { appendFileSync, readFileSync } from "node:fs";
import { EOL } from "node:os";

const SOURCE = "github-action";
const ENDPOINT = "/api/events/run";

// job.status is success, failure or cancelled; Pipeline Pulse uses the same words.
const STATUSES = new Set(["running", "success", "failure", "cancelled"]);

// Retries (network errors, 429, 5xx) stay within this budget, so a dead API delays the job by
// half a minute at most. The environment override exists for the action's own tests.
const RETRY_BUDGET_MS = Number(process.env.PULSE_ACTION_RETRY_BUDGET_MS) || 30_000;
const FIRST_DELAY_MS = 1_000;
// One hung connection must leave time for another attempt.
const ATTEMPT_TIMEOUT_MS = 10_000;

class ReportError extends Error {}

let secret = "";

function redact(text) {
  return secret ? String(text).split(secret).join("***") : String(text);
}

// Workflow commands end at the line break: escape it (and %) as the runner expects.
function escapeData(text) {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function command(name, message) {
  process.stdout.write(`::${name}::${escapeData(redact(message))}${EOL}`);
}

function log(message) {
  process.stdout.write(`${redact(message)}${EOL}`);
}

function input(name) {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
}

// The YAML 1.2 core schema's booleans, as @actions/core's getBooleanInput reads them.
function booleanInput(name) {
  const value = input(name);
  if (value === "" || ["false", "False", "FALSE"].includes(value)) return false;
  if (["true", "True", "TRUE"].includes(value)) return true;
  throw new ReportError(`input ${name} must be true or false, not "${value}"`);
}

function env(name) {
  return process.env[name] ?? "";
}

// The runner's files take NAME=value lines; a value with a line break would need a delimiter.
function appendFileCommand(variable, name, value) {
  const path = env(variable);
  if (path) appendFileSync(path, `${name}=${value}${EOL}`, "utf8");
}

// GITHUB_ENV carries the start time to the result step. Keyed by the run's id, so several reports
// in one job (different external-id values) keep their own.
function startedAtVariable(externalId) {
  return `PULSE_RUN_STARTED_AT_${externalId.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

// On pull_request events GITHUB_SHA is the test merge commit, which exists in no branch; the
// webhook reports the head commit, and so does this.
function commitSha() {
  const eventPath = env("GITHUB_EVENT_PATH");
  if (eventPath) {
    try {
      const head = JSON.parse(readFileSync(eventPath, "utf8"))?.pull_request?.head?.sha;
      if (typeof head === "string" && head) return head;
    } catch {
      // An unreadable payload only costs the finer commit.
    }
  }
  return env("GITHUB_SHA");
}

function runUrl() {
  const [server, repository, runId] = [
    env("GITHUB_SERVER_URL"),
    env("GITHUB_REPOSITORY"),
    env("GITHUB_RUN_ID"),
  ];
  if (!server || !repository || !runId) return undefined;
  const attempt = Number(env("GITHUB_RUN_ATTEMPT"));
  const url = `${server}/${repository}/actions/runs/${runId}`;
  return attempt > 1 ? `${url}/attempts/${attempt}` : url;
}

function endpoint(apiUrl) {
  let url;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new ReportError(`api-url "${apiUrl}" is not a URL (e.g. https://pulse.example.com)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ReportError(`api-url "${apiUrl}" must start with http:// or https://`);
  }
  const base = url.pathname.replace(/\/+$/, "");
  url.pathname = base.endsWith(ENDPOINT) ? base : `${base}${ENDPOINT}`;
  return url;
}

// For messages: never the userinfo part of a URL.
function shown(url) {
  return `${url.origin}${url.pathname}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function networkReason(error) {
  if (error?.name === "TimeoutError" || error?.name === "AbortError") return "no answer in time";
  const cause = error?.cause;
  if (cause?.code && cause?.message && !cause.message.includes(cause.code)) {
    return `${cause.code}: ${cause.message}`;
  }
  return cause?.message || error?.message || String(error);
}

function retryAfterMs(response) {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

function detailText(body) {
  const detail = body?.detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => (item?.field ? `${item.field}: ${item.message}` : JSON.stringify(item)))
      .join("; ");
  }
  return detail ? String(detail) : "";
}

// What a person reading the job's annotations needs to fix it.
function answerMessage(response, body, url) {
  const reason = response.statusText || body?.error || "";
  const head = `Pipeline Pulse answered ${response.status} ${reason}`.trim();
  const detail = detailText(body);
  const requestId = body?.request_id ? ` (request id ${body.request_id})` : "";
  switch (response.status) {
    case 401:
      return (
        `${head}: the ingest token does not match; ` +
        "set the token input to the API's ingest token (pulse token prints it)"
      );
    case 404:
      return `${head} for ${shown(url)}: is api-url the address of the Pipeline Pulse API?`;
    case 409:
      return `${head}: ${detail || "conflict"} (external-id names a run of another pipeline)`;
    default:
      return `${head}${detail ? `: ${detail}` : ""}${requestId}`;
  }
}

async function post(url, token, body) {
  const started = Date.now();
  const deadline = started + RETRY_BUDGET_MS;
  let delay = FIRST_DELAY_MS;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let failure;
    let wait = delay;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json",
          "User-Agent": "pipeline-pulse-report-run",
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(
          Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, deadline - Date.now())),
        ),
      });
      const answer = await readBody(response);
      if (response.ok) return answer;
      const message = answerMessage(response, answer, url);
      if (response.status !== 429 && response.status < 500) throw new ReportError(message);
      failure = message;
      wait = Math.max(delay, retryAfterMs(response));
    } catch (error) {
      if (error instanceof ReportError) throw error;
      failure = `Pipeline Pulse at ${shown(url)} was unreachable (${networkReason(error)})`;
    }
    if (Date.now() + wait >= deadline) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
      throw new ReportError(`${failure}; gave up after ${tries} in ${seconds} s`);
    }
    log(`${failure}; retrying in ${wait / 1000} s`);
    await sleep(wait);
    delay *= 2;
  }
}

async function report() {
  const rawStatus = input("status");
  const status = rawStatus.toLowerCase();
  if (!STATUSES.has(status)) {
    command(
      "warning",
      `Pipeline Pulse: status "${rawStatus}" is not one a job reports ` +
        "(running, or job.status: success, failure, cancelled); nothing was sent",
    );
    return;
  }
  const apiUrl = input("api-url");
  if (!apiUrl) throw new ReportError("api-url is empty: nothing was sent");
  if (!secret) {
    throw new ReportError(
      "token is empty (secrets are not given to workflows started from forks): nothing was sent",
    );
  }
  const url = endpoint(apiUrl);

  const repository = env("GITHUB_REPOSITORY");
  const workflow = env("GITHUB_WORKFLOW");
  const pipeline = input("pipeline") || [repository, workflow].filter(Boolean).join("/");
  if (!pipeline) throw new ReportError("pipeline is empty and GITHUB_REPOSITORY is not set");
  const externalId =
    input("external-id") ||
    [env("GITHUB_RUN_ID"), env("GITHUB_RUN_ATTEMPT"), env("GITHUB_JOB")].filter(Boolean).join("-");

  const body = {
    pipeline,
    status,
    branch: env("GITHUB_HEAD_REF") || env("GITHUB_REF_NAME") || undefined,
    commit: commitSha() || undefined,
    triggered_by: env("GITHUB_TRIGGERING_ACTOR") || env("GITHUB_ACTOR") || undefined,
    external_id: externalId || undefined,
    source: SOURCE,
    url: runUrl(),
  };
  // A re-run of the workflow is the same run id with a later attempt: the dashboard shows it.
  const attempt = Number.parseInt(env("GITHUB_RUN_ATTEMPT") ?? "", 10);
  if (Number.isInteger(attempt) && attempt >= 1) body.attempt = attempt;

  if (externalId) {
    const variable = startedAtVariable(externalId);
    if (status === "running") {
      body.started_at = new Date().toISOString();
      appendFileCommand("GITHUB_ENV", variable, body.started_at);
    } else {
      // Both ends from the runner's clock, so the duration is the job's as the runner saw it.
      const startedAt = env(variable);
      if (startedAt && !Number.isNaN(Date.parse(startedAt))) {
        body.started_at = startedAt;
        body.finished_at = new Date().toISOString();
      }
    }
  }

  const run = await post(url, secret, body);
  if (run?.id !== undefined) appendFileCommand("GITHUB_OUTPUT", "run-id", String(run.id));
  log(`Pipeline Pulse recorded run ${run?.id} of ${pipeline}: ${run?.status ?? status}`);
}

async function main() {
  // Masked before anything else is printed, line by line as the runner masks.
  const rawToken = process.env.INPUT_TOKEN ?? "";
  for (const line of rawToken.split(/\r?\n/)) {
    if (line.trim()) process.stdout.write(`::add-mask::${line}${EOL}`);
  }
  secret = rawToken.trim();
  if (secret && !rawToken.split(/\r?\n/).includes(secret)) {
    process.stdout.write(`::add-mask::${secret}${EOL}`);
  }

  let failOnError;
  try {
    failOnError = booleanInput("fail-on-error");
  } catch (error) {
    // Whoever set fail-on-error wants to hear about problems: a typo in it is one.
    command("error", error.message);
    process.exitCode = 1;
    return;
  }
  try {
    await report();
  } catch (error) {
    const message =
      error instanceof ReportError ? error.message : `unexpected error: ${error?.message ?? error}`;
    if (failOnError) {
      command("error", message);
      process.exitCode = 1;
    } else {
      command("warning", `${message} (the job goes on: fail-on-error is false)`);
    }
  }
}

await main();
