import type { Run, Summary } from "../../../api/client";
import { parseTime } from "../../../lib/format";

export const RUNS_SHOWN = 20;

/** Messages on WS /ws/metrics (the README's "Live" section; not part of the OpenAPI document). */
export type LiveMessage =
  | { type: "metrics_update"; as_of: string; payload: Summary }
  | { type: "runs_update"; as_of: string; payload: Run[] }
  | { type: "heartbeat"; as_of: string };

export type DashboardData = {
  summary: Summary | null;
  runs: Run[];
  /** `as_of` of the latest live message: the database time the screen describes. */
  asOf: string | null;
};

export type DashboardAction =
  | { type: "loaded"; summary: Summary; runs: Run[] }
  | { type: "runs_loaded"; runs: Run[] }
  | { type: "live"; message: LiveMessage }
  | { type: "reset" };

export const initialData: DashboardData = { summary: null, runs: [], asOf: null };

export function dashboardReducer(state: DashboardData, action: DashboardAction): DashboardData {
  switch (action.type) {
    case "loaded":
      return { ...state, summary: action.summary, runs: newestFirst(action.runs).slice(0, RUNS_SHOWN) };
    case "runs_loaded":
      return { ...state, runs: newestFirst(action.runs).slice(0, RUNS_SHOWN) };
    case "reset":
      return initialData;
    case "live":
      return applyLiveMessage(state, action.message);
  }
}

export function applyLiveMessage(state: DashboardData, message: LiveMessage): DashboardData {
  const asOf = laterOf(state.asOf, message.as_of);
  switch (message.type) {
    case "metrics_update":
      return { ...state, summary: message.payload, asOf };
    case "runs_update":
      return { ...state, runs: mergeRuns(state.runs, message.payload), asOf };
    case "heartbeat":
      return { ...state, asOf };
  }
}

/** Changed runs replace their row by id, new ones join; newest `started_at` first (ties by id), capped. */
export function mergeRuns(current: Run[], changed: Run[], cap = RUNS_SHOWN): Run[] {
  const byId = new Map(current.map((run) => [run.id, run]));
  for (const run of changed) byId.set(run.id, run);
  return newestFirst([...byId.values()]).slice(0, cap);
}

function newestFirst(runs: Run[]): Run[] {
  return [...runs].sort((a, b) => (parseTime(b.started_at) ?? 0) - (parseTime(a.started_at) ?? 0) || b.id - a.id);
}

function laterOf(a: string | null, b: string | undefined): string | null {
  if (!b) return a;
  if (!a) return b;
  return (parseTime(b) ?? 0) >= (parseTime(a) ?? 0) ? b : a;
}

export function parseLiveMessage(text: string): LiveMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const message = value as { type?: unknown; as_of?: unknown; payload?: unknown };
  if (typeof message.as_of !== "string") return null;
  if (message.type === "heartbeat") return message as LiveMessage;
  if (message.type === "metrics_update" && typeof message.payload === "object" && message.payload !== null) {
    return message as LiveMessage;
  }
  if (message.type === "runs_update" && Array.isArray(message.payload)) return message as LiveMessage;
  return null;
}
