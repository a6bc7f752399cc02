import { describe, expect, it } from "vitest";
import { readFilters, writeFilters } from "./url-state";

describe("filters in the query string", () => {
  it("restores window, pipeline and branch", () => {
    expect(readFilters("?minutes=60&pipeline=web&branch=feature%2Fx")).toEqual({
      minutes: 60,
      pipeline: "web",
      branch: "feature/x",
    });
  });
  it("falls back to 24 h for a missing or unknown window, and to every pipeline and branch", () => {
    expect(readFilters("")).toEqual({ minutes: 1440, pipeline: "", branch: "" });
    expect(readFilters("?minutes=7")).toEqual({ minutes: 1440, pipeline: "", branch: "" });
  });
  it("writes what is set and keeps other parameters", () => {
    expect(writeFilters("?x=1", { minutes: 10080, pipeline: "", branch: "main" })).toBe("?x=1&minutes=10080&branch=main");
    expect(writeFilters("?x=1", { minutes: 60, pipeline: "api gateway", branch: "" })).toBe(
      "?x=1&minutes=60&pipeline=api+gateway",
    );
    expect(writeFilters("?branch=main&pipeline=web", { minutes: 60, pipeline: "", branch: "" })).toBe("?minutes=60");
  });
  it("round-trips", () => {
    const filters = { minutes: 43200, pipeline: "web", branch: "release/2" };
    expect(readFilters(writeFilters("", filters))).toEqual(filters);
  });
});
