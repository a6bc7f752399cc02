import { render, screen, within } from "@testing-library/react";
import { expect, it } from "vitest";
import { NOW, makePipelineSummary, makeSummary } from "../../../test/fixtures";
import { KpiCards } from "./kpi-cards";

it("shows the summary's figures", () => {
  render(<KpiCards summary={makeSummary()} now={NOW} />);
  expect(screen.getByTestId("kpi-total")).toHaveTextContent("22");
  expect(screen.getByText("17")).toBeInTheDocument();
  expect(screen.getByText("5")).toBeInTheDocument();
  expect(screen.getByTestId("kpi-rate")).toHaveTextContent("77.3%");
  expect(screen.getByTestId("kpi-avg")).toHaveTextContent("1m 35s");
  expect(screen.getByTestId("kpi-p95")).toHaveTextContent("3m 05s");
  const last = screen.getByRole("heading", { name: "Last Build Status" }).closest("article")!;
  expect(within(last).getByText("failure")).toBeInTheDocument();
  expect(screen.getByTestId("kpi-last")).toHaveTextContent(/^✕failure in api$/);
  const time = within(last).getByText("3 min ago");
  expect(time).toHaveAttribute("datetime", "2026-01-10T11:57:00Z");
});

it("shows dashes when the window has no decided run", () => {
  render(
    <KpiCards
      summary={makeSummary({ success_rate: null, avg_duration_sec: null, p95_duration_sec: null, last_status: null, last_finished_at: null })}
      now={NOW}
    />,
  );
  expect(screen.getByTestId("kpi-rate")).toHaveTextContent("—");
  expect(screen.getByTestId("kpi-avg")).toHaveTextContent("—");
  expect(screen.getByText("no result")).toBeInTheDocument();
  expect(screen.getByTestId("kpi-last")).toHaveTextContent(/^no result$/);
});

it("names the last build's pipeline, the one of the per-pipeline entries that finished last", () => {
  const at = "2026-01-10T11:57:00Z";
  const summary = makeSummary({
    last_status: "success",
    last_finished_at: at,
    per_pipeline: [
      makePipelineSummary({ pipeline: "api", last_status: "failure", last_finished_at: at }),
      makePipelineSummary({ pipeline: "web", last_status: "success", last_finished_at: at }),
      makePipelineSummary({ pipeline: "docs", last_status: "success", last_finished_at: "2026-01-10T10:00:00Z" }),
    ],
  });
  render(<KpiCards summary={summary} now={NOW} />);
  const last = screen.getByTestId("kpi-last");
  expect(within(last).getByText("success")).toBeInTheDocument();
  expect(within(last).getByText("web")).toHaveAttribute("title", "web");
});
