import type { Run, RunsPage, Summary } from "../../../api/client";
import { parseTime } from "../../../lib/format";

/** Rows per page of the runs table: the first load, and each "Load more". */
export const RUNS_PAGE = 20;
/** The most GET /api/runs returns in one call (its `limit` parameter's maximum). */
export const RUNS_LIMIT_MAX = 500;
/**
 * Rows kept once "Load more" was used: live runs then join at the top without pushing out the older
 * rows someone is reading, up to this many (a wall display left open for days must not grow forever).
 */
export const RUNS_KEPT_PAGED = 500;

/** Messages on WS /ws/metrics (the README's "Live" section; not part of the OpenAPI document). */
export type LiveMessage =
  | { type: "metrics_update"; as_of: string; payload: Summary }
  | { type: "runs_update"; as_of: string; payload: Run[] }
  | { type: "runs_deleted"; as_of: string; payload: number[] }
  | { type: "heartbeat"; as_of: string };

export type DashboardData = {
  summary: Summary | null;
  /** Newest `started_at` first (ties by id). */
  runs: Run[];
  /** Rows the table keeps; live runs push the oldest out beyond it. One page until "Load more". */
  keep: number;
  /** X-Next-Cursor of the last page loaded: where "Load more" goes on; null after the last page. */
  nextCursor: string | null;
  /**
   * Live runs pushed rows out of the table since `nextCursor` was issued. Going on from it would skip
   * them, so "Load more" takes the newest runs again instead, one page longer.
   */
  gap: boolean;
  /** A "Load more" is in flight: live runs join without pushing rows out, so its page lands next to them. */
  loadingMore: boolean;
  /** `as_of` of the latest live message: the database time the screen describes. */
  asOf: string | null;
};

export type DashboardAction =
  | { type: "loaded"; summary: Summary; page: RunsPage }
  | { type: "runs_loaded"; page: RunsPage; keep: number }
  | { type: "more_requested" }
  | { type: "more_loaded"; page: RunsPage }
  | { type: "more_failed" }
  | { type: "live"; message: LiveMessage };

export const initialData: DashboardData = {
  summary: null,
  runs: [],
  keep: RUNS_PAGE,
  nextCursor: null,
  gap: false,
  loadingMore: false,
  asOf: null,
};

export function dashboardReducer(state: DashboardData, action: DashboardAction): DashboardData {
  switch (action.type) {
    case "loaded":
      return {
        ...fromPage(state, action.page, RUNS_PAGE),
        summary: action.summary,
      };
    case "runs_loaded":
      return fromPage(state, action.page, action.keep);
    case "more_requested":
      return { ...state, loadingMore: true };
    case "more_loaded": {
      const runs = mergeRuns(state.runs, action.page.runs);
      return {
        ...state,
        runs,
        keep: Math.max(state.keep, RUNS_KEPT_PAGED, runs.length),
        nextCursor: action.page.nextCursor,
        gap: false,
        loadingMore: false,
      };
    }
    case "more_failed":
      return trim({ ...state, loadingMore: false });
    case "live":
      return applyLiveMessage(state, action.message);
  }
}

function fromPage(state: DashboardData, page: RunsPage, keep: number): DashboardData {
  return {
    ...state,
    runs: newestFirst(page.runs).slice(0, keep),
    keep,
    nextCursor: page.nextCursor,
    gap: false,
    loadingMore: false,
  };
}

export function applyLiveMessage(state: DashboardData, message: LiveMessage): DashboardData {
  const asOf = laterOf(state.asOf, message.as_of);
  switch (message.type) {
    case "metrics_update":
      return { ...state, summary: message.payload, asOf };
    case "runs_update": {
      const runs = mergeRuns(state.runs, message.payload);
      return { ...(state.loadingMore ? { ...state, runs } : trim({ ...state, runs })), asOf };
    }
    case "runs_deleted": {
      const gone = new Set(message.payload);
      return { ...state, runs: state.runs.filter((run) => !gone.has(run.id)), asOf };
    }
    case "heartbeat":
      return { ...state, asOf };
  }
}

/** Drops the rows beyond `keep`, noting that the cursor now lies beyond a gap. */
function trim(state: DashboardData): DashboardData {
  if (state.runs.length <= state.keep) return state;
  return { ...state, runs: state.runs.slice(0, state.keep), gap: true };
}

/** Changed runs replace their row by id, new ones join; newest `started_at` first (ties by id). */
export function mergeRuns(current: Run[], changed: Run[]): Run[] {
  const byId = new Map(current.map((run) => [run.id, run]));
  for (const run of changed) byId.set(run.id, run);
  return newestFirst([...byId.values()]);
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
  if (message.type === "runs_deleted" && Array.isArray(message.payload)) return message as LiveMessage;
  return null;
}
