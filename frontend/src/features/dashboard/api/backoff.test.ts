import { expect, it } from "vitest";
import { backoffDelay } from "./use-live-metrics";

it("backs off from 0.5 s doubling to 10 s, jittered between half and all of it", () => {
  const top = { initialMs: 500, maxMs: 10_000, random: () => 1 };
  const bottom = { ...top, random: () => 0 };
  expect([0, 1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, top))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
  expect(backoffDelay(0, bottom)).toBe(250);
  expect(backoffDelay(9, bottom)).toBe(5000);
});
