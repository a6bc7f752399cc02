import { describe, expect, it } from "vitest";
import { readFilters, writeFilters } from "./url-state";

describe("filters in the query string", () => {
  it("restores window and branch", () => {
    expect(readFilters("?minutes=60&branch=feature%2Fx")).toEqual({ minutes: 60, branch: "feature/x" });
  });
  it("falls back to 24 h for a missing or unknown window", () => {
    expect(readFilters("")).toEqual({ minutes: 1440, branch: "" });
    expect(readFilters("?minutes=7")).toEqual({ minutes: 1440, branch: "" });
  });
  it("writes both and keeps other parameters", () => {
    expect(writeFilters("?x=1", { minutes: 10080, branch: "main" })).toBe("?x=1&minutes=10080&branch=main");
    expect(writeFilters("?branch=main", { minutes: 60, branch: "" })).toBe("?minutes=60");
  });
});
