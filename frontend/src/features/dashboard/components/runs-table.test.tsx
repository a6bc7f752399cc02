import { fireEvent, render, screen, within } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { NOW, makeRun } from "../../../test/fixtures";
import { RunsTable } from "./runs-table";

const props = { now: NOW, pipeline: "", branch: "", hasMore: false, loadingMore: false, onLoadMore: () => undefined };

const sha = "5184f9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";

it("lists runs with a status badge in words, a short commit and relative times", () => {
  render(
    <RunsTable
      runs={[
        makeRun({ id: 2, pipeline: "api", status: "failure", commit: "abcdef0123456", url: "https://ci.example/runs/2" }),
        makeRun({ id: 1, pipeline: "web", status: "success", commit: sha }),
      ]}
      {...props}
    />,
  );
  const table = screen.getByRole("table", { name: /latest 2 runs, newest first/i });
  const rows = within(table).getAllByRole("row").slice(1);
  expect(rows.map((row) => within(row).getByRole("rowheader").textContent)).toEqual(["api", "web"]);

  expect(within(rows[0]!).getByText("failure")).toBeInTheDocument();
  expect(within(rows[1]!).getByText("success")).toBeInTheDocument();

  const commit = within(rows[1]!).getByText("5184f9c");
  expect(commit).toHaveAttribute("title", sha);
  expect(within(rows[1]!).queryByRole("link")).toBeNull();

  const link = within(rows[0]!).getByRole("link");
  expect(link).toHaveAttribute("href", "https://ci.example/runs/2");
  expect(within(link).getByText("abcdef0")).toHaveAttribute("title", "abcdef0123456");

  expect(within(rows[1]!).getByText("1m 05s")).toBeInTheDocument();
  expect(within(rows[1]!).getByText("2 min ago")).toHaveAttribute("datetime", "2026-01-10T11:58:00Z");
  expect(within(rows[1]!).getByText("octocat")).toBeInTheDocument();
});

it("says when a branch has no runs", () => {
  render(<RunsTable runs={[]} {...props} branch="feature/x" />);
  expect(screen.getByText("No runs on branch feature/x yet.")).toBeInTheDocument();
});

it("says when a pipeline has no runs on a branch", () => {
  render(<RunsTable runs={[]} {...props} pipeline="web" branch="feature/x" />);
  expect(screen.getByText("No runs of web on branch feature/x yet.")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
});

it("shows how long a running run has run so far, and keeps counting", () => {
  const running = makeRun({ status: "running", started_at: "2026-01-10T11:58:55Z", finished_at: null, duration_sec: null });
  const { rerender } = render(<RunsTable runs={[running, makeRun({ id: 2, duration_sec: 0.4 })]} {...props} />);
  const [first, second] = screen.getAllByRole("row").slice(1);
  expect(within(first!).getByText("running 1m 05s")).toBeInTheDocument();
  expect(within(second!).getByText("0 s")).toBeInTheDocument();
  rerender(<RunsTable runs={[running, makeRun({ id: 2, duration_sec: 0.4 })]} {...props} now={NOW + 60_000} />);
  expect(within(first!).getByText("running 2m 05s")).toBeInTheDocument();
});

it("offers Load more while there is a next page", () => {
  const onLoadMore = vi.fn();
  const { rerender } = render(<RunsTable runs={[makeRun()]} {...props} hasMore onLoadMore={onLoadMore} />);
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(onLoadMore).toHaveBeenCalledTimes(1);
  expect(screen.getByRole("status")).toHaveTextContent(/^1 run shown$/);

  rerender(<RunsTable runs={[makeRun()]} {...props} hasMore loadingMore onLoadMore={onLoadMore} />);
  const busy = screen.getByRole("button", { name: "Loading…" });
  expect(busy).toHaveAttribute("aria-disabled", "true");
  fireEvent.click(busy);
  expect(onLoadMore).toHaveBeenCalledTimes(1);

  const many = Array.from({ length: 25 }, (_, i) => makeRun({ id: i + 1 }));
  rerender(<RunsTable runs={many} {...props} onLoadMore={onLoadMore} />);
  expect(screen.queryByRole("button", { name: /load more|loading/i })).toBeNull();
  expect(screen.getByRole("status")).toHaveTextContent("All 25 runs shown");
});
