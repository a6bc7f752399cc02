import { render, screen } from "@testing-library/react";
import { expect, it } from "vitest";
import { NOW } from "../../../test/fixtures";
import { StaleNotice } from "./stale-notice";

const TWO_MINUTES_BEFORE = new Date(NOW - 120_000).toISOString();

it("says nothing while live or connecting", () => {
  const { container, rerender } = render(<StaleNotice state="live" asOf={TWO_MINUTES_BEFORE} now={NOW} />);
  expect(container).toBeEmptyDOMElement();
  rerender(<StaleNotice state="connecting" asOf={null} now={NOW} />);
  expect(container).toBeEmptyDOMElement();
});

it("says the figures are paused, and how old they are, while reconnecting", () => {
  render(<StaleNotice state="reconnecting" asOf={TWO_MINUTES_BEFORE} now={NOW} />);
  const notice = screen.getByTestId("stale-notice");
  expect(notice).toHaveTextContent("Live updates paused. Reconnecting to the API… Figures are from 2 min ago.");
});

it("says offline in words, not only in colour", () => {
  render(<StaleNotice state="offline" asOf={TWO_MINUTES_BEFORE} now={NOW} />);
  expect(screen.getByTestId("stale-notice")).toHaveTextContent(/^Offline\. The API cannot be reached; still retrying\./);
});
