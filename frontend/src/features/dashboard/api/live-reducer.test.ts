import { describe, expect, it } from "vitest";
import { EMPTY_SUMMARY, makeRun, makeSummary } from "../../../test/fixtures";
import { applyLiveMessage, initialData, mergeRuns, parseLiveMessage, type DashboardData } from "./live-reducer";

const at = (minute: number) => `2026-01-10T11:${String(minute).padStart(2, "0")}:00Z`;

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

  it("keeps only the 20 newest", () => {
    const current = Array.from({ length: 20 }, (_, i) => makeRun({ id: i + 1, started_at: at(i + 1) }));
    const merged = mergeRuns(current, [makeRun({ id: 100, started_at: at(59) }), makeRun({ id: 101, started_at: at(0) })]);
    expect(merged).toHaveLength(20);
    expect(merged[0]?.id).toBe(100);
    expect(merged.map((r) => r.id)).not.toContain(101);
    expect(merged.map((r) => r.id)).not.toContain(1);
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
