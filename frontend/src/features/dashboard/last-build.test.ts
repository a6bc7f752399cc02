import { describe, expect, it } from "vitest";
import { makePipelineSummary, makeSummary } from "../../test/fixtures";
import { lastBuildPipeline } from "./last-build";

const pipeline = (name: string, last_status: "success" | "failure" | null, last_finished_at: string | null) =>
  makePipelineSummary({ pipeline: name, last_status, last_finished_at });

describe("lastBuildPipeline", () => {
  it("names the pipeline that finished last", () => {
    const summary = makeSummary({
      last_status: "failure",
      last_finished_at: "2026-01-10T11:57:00Z",
      per_pipeline: [
        pipeline("api", "failure", "2026-01-10T11:57:00.000Z"),
        pipeline("docs", null, null),
        pipeline("web", "success", "2026-01-10T11:50:00Z"),
      ],
    });
    expect(lastBuildPipeline(summary)).toBe("api");
  });

  it("breaks a tie by the top-level result, then by name", () => {
    const at = "2026-01-10T11:57:00Z";
    const tied = [pipeline("worker", "failure", at), pipeline("web", "success", at), pipeline("api", "success", at)];
    expect(lastBuildPipeline(makeSummary({ last_status: "failure", last_finished_at: at, per_pipeline: tied }))).toBe(
      "worker",
    );
    expect(lastBuildPipeline(makeSummary({ last_status: "success", last_finished_at: at, per_pipeline: tied }))).toBe(
      "api",
    );
  });

  it("falls back to the latest entry when the top level has no time, and to null with none", () => {
    const per_pipeline = [pipeline("api", "failure", "2026-01-10T11:00:00Z"), pipeline("web", "success", "2026-01-10T11:30:00Z")];
    expect(lastBuildPipeline(makeSummary({ last_finished_at: null, per_pipeline }))).toBe("web");
    expect(lastBuildPipeline(makeSummary({ per_pipeline: [pipeline("docs", null, null)] }))).toBeNull();
  });
});
