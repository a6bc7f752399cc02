import { describe, expect, it } from "vitest";
import { NOW, makeStep } from "../../test/fixtures";
import { jobResult, slowestSteps } from "./jobs";

describe("jobResult", () => {
  it.each([
    ["completed", "success", "success", "success"],
    ["completed", "neutral", "success", "neutral"],
    ["completed", "timed_out", "failure", "timed out"],
    ["completed", "startup_failure", "failure", "startup failure"],
    ["completed", "cancelled", "cancelled", "cancelled"],
    ["completed", "action_required", "skipped", "action required"],
    ["completed", "something_new", "failure", "something new"],
    ["completed", null, "unknown", "completed"],
    ["in_progress", null, "running", "running"],
    ["queued", null, "queued", "queued"],
    ["waiting", null, "queued", "waiting"],
  ])("%s / %s → %s badge saying %s", (status, conclusion, badge, label) => {
    expect(jobResult({ status, conclusion })).toEqual({ status: badge, label });
  });
});

describe("slowestSteps", () => {
  const steps = [
    makeStep({ number: 1, name: "Set up job", duration_sec: 2 }),
    makeStep({ number: 2, name: "Checkout", duration_sec: 9 }),
    makeStep({ number: 3, name: "Build", duration_sec: 45 }),
    makeStep({ number: 4, name: "Test", duration_sec: 182 }),
    makeStep({ number: 5, name: "Lint", duration_sec: 9 }),
    makeStep({ number: 6, name: "Skipped", status: "completed", conclusion: "skipped", duration_sec: null }),
  ];

  it("takes the three longest, longest first, ties in step order", () => {
    expect(slowestSteps(steps, NOW).map((s) => [s.step.name, s.seconds])).toEqual([
      ["Test", 182],
      ["Build", 45],
      ["Checkout", 9],
    ]);
  });

  it("counts a step still going by how long it has run so far", () => {
    const going = makeStep({
      number: 7,
      name: "Deploy",
      status: "in_progress",
      conclusion: null,
      started_at: new Date(NOW - 60_000).toISOString(),
      completed_at: null,
      duration_sec: null,
    });
    const [first, second] = slowestSteps([...steps, going], NOW);
    expect(first).toMatchObject({ seconds: 182, running: false });
    expect(second).toMatchObject({ seconds: 60, running: true, step: { name: "Deploy" } });
  });

  it("has nothing to rank without timings", () => {
    expect(slowestSteps([], NOW)).toEqual([]);
  });
});
