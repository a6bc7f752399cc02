import { describe, expect, it } from "vitest";
import { formatConclusion, formatDuration, formatRate, formatRelative, secondsSince, shortSha } from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [0.4, "0 s"],
    [0.5, "1 s"],
    [1, "1 s"],
    [42, "42 s"],
    [120, "2m 00s"],
    [65, "1m 05s"],
    [59.6, "1m 00s"],
    [7380, "2h 03m"],
    [null, "—"],
    [-1, "—"],
  ])("%s → %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe("formatRelative", () => {
  const now = Date.parse("2026-01-10T12:00:00Z");
  it.each([
    ["2026-01-10T12:00:00Z", "just now"],
    ["2026-01-10T12:00:03Z", "just now"],
    ["2026-01-10T11:59:55Z", "5 s ago"],
    ["2026-01-10T11:57:00Z", "3 min ago"],
    ["2026-01-10T10:00:00Z", "2 h ago"],
    ["2026-01-06T12:00:00Z", "4 d ago"],
    [null, "—"],
  ])("%s → %s", (iso, text) => {
    expect(formatRelative(iso, now)).toBe(text);
  });
});

describe("secondsSince", () => {
  const now = Date.parse("2026-01-10T12:00:00Z");
  it("counts from a start time to now, never below zero", () => {
    expect(secondsSince("2026-01-10T11:58:55Z", now)).toBe(65);
    expect(secondsSince("2026-01-10T12:00:02Z", now)).toBe(0);
    expect(secondsSince(null, now)).toBeNull();
  });
});

describe("formatRate", () => {
  it("shows a percentage with one decimal", () => {
    expect(formatRate(0.7727)).toBe("77.3%");
    expect(formatRate(1)).toBe("100.0%");
    expect(formatRate(0)).toBe("0.0%");
  });
  it("shows a dash when there is no decided run", () => {
    expect(formatRate(null)).toBe("—");
  });
});

it("shortSha keeps 7 characters", () => {
  expect(shortSha("5184f9c0d1e2")).toBe("5184f9c");
});

describe("formatConclusion", () => {
  it.each([
    ["timed_out", "timed out"],
    ["startup_failure", "startup failure"],
    ["success", "success"],
  ])("%s → %s", (conclusion, text) => {
    expect(formatConclusion(conclusion)).toBe(text);
  });
});
