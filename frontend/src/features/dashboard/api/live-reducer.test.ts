import { describe, expect, it } from "vitest";
import type { Run } from "../../../api/client";
import { EMPTY_SUMMARY, makeRun, makeSummary } from "../../../test/fixtures";
import {
  RUNS_KEPT_PAGED,
  RUNS_PAGE,
  applyLiveMessage,
  dashboardReducer,
  initialData,
  mergeRuns,
  parseLiveMessage,
  type DashboardData,
} from "./live-reducer";

const at = (minute: number) => `2026-01-10T11:${String(minute).padStart(2, "0")}:00Z`;
const newestFirst = (runs: Run[]) => mergeRuns([], runs);

describe("runs_update", () => {
  it("inserts a new run at its place, newest started_at first", () => {
    const state: DashboardData = { ...initialData, runs: [makeRun({ id: 2, started_at: at(30) }), makeRun({ id: 1, started_at: at(10) })] };
    const next = applyLiveMessage(state, {
      type: "runs_update",
      as_of: "2026-01-10T12:00:00Z",
      payload: [makeRun({ id: 3, started_at: at(20) }), makeRun({ id: 4, started_at: at(40) })],
    });
    expect(next.runs.map((r) => r.id)).toEqual([4, 2, 3, 1]);
    expect(next.asOf).toBe("2026-01-10T12:00:00Z");
  });

  it("updates a run in place by id", () => {
    const state: DashboardData = {
      ...initialData,
      runs: [makeRun({ id: 2, started_at: at(30), status: "running", finished_at: null }), makeRun({ id: 1, started_at: at(10) })],
    };
    const next = applyLiveMessage(state, {
      type: "runs_update",
      as_of: "2026-01-10T12:00:00Z",
      payload: [makeRun({ id: 2, started_at: at(30), status: "failure" })],
    });
    expect(next.runs).toHaveLength(2);
    expect(next.runs[0]).toMatchObject({ id: 2, status: "failure" });
  });

  it("keeps as many rows as the table holds, noting the gap behind the cursor", () => {
    const current = Array.from({ length: 20 }, (_, i) => makeRun({ id: i + 1, started_at: at(i + 1) }));
    const state: DashboardData = { ...initialData, runs: newestFirst(current), nextCursor: "c20" };
    const next = applyLiveMessage(state, {
      type: "runs_update",
      as_of: "2026-01-10T12:00:00Z",
      payload: [makeRun({ id: 100, started_at: at(59) }), makeRun({ id: 101, started_at: at(0) })],
    });
    expect(next.runs).toHaveLength(20);
    expect(next.runs[0]?.id).toBe(100);
    expect(next.runs.map((r) => r.id)).not.toContain(101);
    expect(next.runs.map((r) => r.id)).not.toContain(1);
    expect(next.gap).toBe(true);
    expect(next.nextCursor).toBe("c20");
  });

  it("grows up to the rows the table holds without a gap", () => {
    const state: DashboardData = { ...initialData, runs: [makeRun({ id: 1, started_at: at(1) })] };
    const next = applyLiveMessage(state, { type: "runs_update", as_of: "x", payload: [makeRun({ id: 2, started_at: at(2) })] });
    expect(next.runs.map((r) => r.id)).toEqual([2, 1]);
    expect(next.gap).toBe(false);
  });
});

describe("runs_deleted", () => {
  it("drops the removed runs and keeps the rest in order", () => {
    const state: DashboardData = {
      ...initialData,
      runs: [makeRun({ id: 3, started_at: at(30) }), makeRun({ id: 2, started_at: at(20) }), makeRun({ id: 1, started_at: at(10) })],
    };
    const next = applyLiveMessage(state, { type: "runs_deleted", as_of: "2026-01-10T12:00:00Z", payload: [2, 99] });
    expect(next.runs.map((r) => r.id)).toEqual([3, 1]);
    expect(next.asOf).toBe("2026-01-10T12:00:00Z");
  });

  it("is parsed from the socket", () => {
    expect(parseLiveMessage('{"type":"runs_deleted","as_of":"2026-01-10T12:00:00Z","payload":[7]}')).toEqual({
      type: "runs_deleted",
      as_of: "2026-01-10T12:00:00Z",
      payload: [7],
    });
  });
});

describe("Load more", () => {
  const page = (ids: number[], nextCursor: string | null) => ({
    runs: ids.map((id) => makeRun({ id, started_at: at(id) })),
    nextCursor,
  });
  const loaded = dashboardReducer(initialData, { type: "loaded", summary: makeSummary(), page: page([59, 58, 57], "c57") });

  it("starts with a page and its cursor", () => {
    expect(loaded).toMatchObject({ keep: RUNS_PAGE, nextCursor: "c57", gap: false, loadingMore: false });
    expect(loaded.runs.map((r) => r.id)).toEqual([59, 58, 57]);
  });

  it("appends the next page, takes its cursor and holds the longer list", () => {
    const asked = dashboardReducer(loaded, { type: "more_requested" });
    expect(asked.loadingMore).toBe(true);
    const more = dashboardReducer(asked, { type: "more_loaded", page: page([56, 55], null) });
    expect(more.runs.map((r) => r.id)).toEqual([59, 58, 57, 56, 55]);
    expect(more).toMatchObject({ nextCursor: null, loadingMore: false, gap: false });
  });

  it("keeps live runs sorted among the loaded pages, and the rows being read in place", () => {
    const full = page(
      Array.from({ length: 40 }, (_, i) => 59 - i),
      "c20",
    );
    let state = dashboardReducer(initialData, { type: "loaded", summary: makeSummary(), page: { ...full, runs: full.runs.slice(0, 20) } });
    state = dashboardReducer(state, { type: "more_requested" });
    state = dashboardReducer(state, { type: "more_loaded", page: { runs: full.runs.slice(20), nextCursor: "c40" } });
    expect(state.keep).toBe(RUNS_KEPT_PAGED);

    const live = (payload: Run[]) => dashboardReducer(state, { type: "live", message: { type: "runs_update", as_of: "x", payload } });
    // A run of the second page finishes: updated in place.
    state = live([makeRun({ id: 25, started_at: at(25), status: "failure" })]);
    expect(state.runs).toHaveLength(40);
    expect(state.runs.find((r) => r.id === 25)?.status).toBe("failure");
    // A new run (same start as #59, higher id) goes on top; the oldest loaded row stays.
    state = live([makeRun({ id: 60, started_at: at(59) })]);
    expect(state.runs.map((r) => r.id).slice(0, 2)).toEqual([60, 59]);
    expect(state.runs).toHaveLength(41);
    expect(state.runs.at(-1)?.id).toBe(20);
    expect(state).toMatchObject({ gap: false, nextCursor: "c40" });
  });

  it("pushes rows out past what it keeps after paging, too", () => {
    const many = Array.from({ length: RUNS_KEPT_PAGED }, (_, i) => makeRun({ id: 1000 - i, started_at: at(59) }));
    const state: DashboardData = { ...initialData, runs: many, keep: RUNS_KEPT_PAGED, nextCursor: "c" };
    const next = applyLiveMessage(state, { type: "runs_update", as_of: "x", payload: [makeRun({ id: 2000, started_at: at(59) })] });
    expect(next.runs).toHaveLength(RUNS_KEPT_PAGED);
    expect(next.runs[0]?.id).toBe(2000);
    expect(next.gap).toBe(true);
  });

  it("lets live runs in without pushing rows out while a page is on its way", () => {
    const full = Array.from({ length: 20 }, (_, i) => makeRun({ id: 40 - i, started_at: at(40 - i) }));
    let state = dashboardReducer(initialData, { type: "loaded", summary: makeSummary(), page: { runs: full, nextCursor: "c21" } });
    state = dashboardReducer(state, { type: "more_requested" });
    state = dashboardReducer(state, { type: "live", message: { type: "runs_update", as_of: "x", payload: [makeRun({ id: 50, started_at: at(50) })] } });
    expect(state.runs).toHaveLength(21);
    expect(state.gap).toBe(false);
    state = dashboardReducer(state, { type: "more_loaded", page: page([20, 19], null) });
    expect(state.runs.map((r) => r.id)).toEqual([50, ...full.map((r) => r.id), 20, 19]);
  });

  it("goes back to the rows it holds when a page fails", () => {
    const full = Array.from({ length: 20 }, (_, i) => makeRun({ id: 40 - i, started_at: at(40 - i) }));
    let state = dashboardReducer(initialData, { type: "loaded", summary: makeSummary(), page: { runs: full, nextCursor: "c21" } });
    state = dashboardReducer(state, { type: "more_requested" });
    state = dashboardReducer(state, { type: "live", message: { type: "runs_update", as_of: "x", payload: [makeRun({ id: 50, started_at: at(50) })] } });
    state = dashboardReducer(state, { type: "more_failed" });
    expect(state).toMatchObject({ loadingMore: false, gap: true });
    expect(state.runs).toHaveLength(20);
  });

  it("starts over with one page when the runs load again", () => {
    const more = dashboardReducer(dashboardReducer(loaded, { type: "more_requested" }), {
      type: "more_loaded",
      page: page([56], "c56"),
    });
    const again = dashboardReducer(more, { type: "runs_loaded", page: page([59, 58], null), keep: 25 });
    expect(again).toMatchObject({ keep: 25, nextCursor: null, gap: false });
    expect(again.runs.map((r) => r.id)).toEqual([59, 58]);
  });
});

describe("metrics_update", () => {
  it("replaces the summary", () => {
    const state: DashboardData = { ...initialData, summary: EMPTY_SUMMARY, runs: [makeRun()] };
    const fresh = makeSummary({ total: 99 });
    const next = applyLiveMessage(state, { type: "metrics_update", as_of: "2026-01-10T12:00:01Z", payload: fresh });
    expect(next.summary).toBe(fresh);
    expect(next.runs).toBe(state.runs);
  });
});

describe("heartbeat", () => {
  it("only moves freshness forward", () => {
    const state: DashboardData = { ...initialData, summary: EMPTY_SUMMARY, asOf: "2026-01-10T12:00:10Z" };
    expect(applyLiveMessage(state, { type: "heartbeat", as_of: "2026-01-10T12:00:25Z" })).toEqual({
      ...state,
      asOf: "2026-01-10T12:00:25Z",
    });
    expect(applyLiveMessage(state, { type: "heartbeat", as_of: "2026-01-10T12:00:05Z" }).asOf).toBe("2026-01-10T12:00:10Z");
  });
});

describe("parseLiveMessage", () => {
  it("accepts the three shapes and rejects anything else", () => {
    expect(parseLiveMessage('{"type":"heartbeat","as_of":"2026-01-10T12:00:00Z"}')).toMatchObject({ type: "heartbeat" });
    expect(parseLiveMessage('{"type":"runs_update","as_of":"x","payload":[]}')).toMatchObject({ type: "runs_update" });
    expect(parseLiveMessage('{"type":"runs_update","as_of":"x","payload":{}}')).toBeNull();
    expect(parseLiveMessage('{"type":"other","as_of":"x"}')).toBeNull();
    expect(parseLiveMessage("not json")).toBeNull();
  });
});
