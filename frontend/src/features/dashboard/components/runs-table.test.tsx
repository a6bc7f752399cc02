import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { NOW, makeJob, makeRun } from "../../../test/fixtures";
import { RunsTable } from "./runs-table";

const client = { getRunJobs: vi.fn(async () => [makeJob()]) };
const props = { client, now: NOW, pipeline: "", branch: "", hasMore: false, loadingMore: false, onLoadMore: () => undefined };

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

it("tags a re-run with its attempt, and only a re-run", () => {
  render(
    <RunsTable
      runs={[
        makeRun({ id: 3, source: "github", attempt: 2 }),
        makeRun({ id: 2, source: "github", attempt: 1 }),
        makeRun({ id: 1, attempt: null }),
      ]}
      {...props}
    />,
  );
  const [rerun, first, plain] = screen.getAllByRole("row").slice(1);
  expect(within(rerun!).getAllByRole("cell")[0]).toHaveTextContent(/^✓success attempt 2$/);
  expect(within(rerun!).getByText("attempt 2")).toHaveAttribute("title", "A re-run: attempt 2 of this CI run");
  expect(within(first!).queryByText(/attempt/)).toBeNull();
  expect(within(plain!).queryByText(/attempt/)).toBeNull();
});

it("adds the CI's own result where it says more than the status", () => {
  render(
    <RunsTable
      runs={[
        makeRun({ id: 3, status: "failure", conclusion: "timed_out", attempt: 3 }),
        makeRun({ id: 2, status: "failure", conclusion: "failure" }),
        makeRun({ id: 1, status: "success", conclusion: null }),
      ]}
      {...props}
    />,
  );
  const [timedOut, failed, passed] = screen.getAllByRole("row").slice(1).map((row) => within(row).getAllByRole("cell")[0]!);
  expect(timedOut).toHaveTextContent(/^✕failure · timed out attempt 3$/);
  expect(within(timedOut!).getByText("· timed out")).toHaveAttribute("title", "The CI's own result: timed_out");
  expect(failed).toHaveTextContent(/^✕failure$/);
  expect(passed).toHaveTextContent(/^✓success$/);
});

it("opens a run's jobs from its row, and closes them from the panel or with Escape, back on the run", async () => {
  const getRunJobs = vi.fn(async () => [makeJob()]);
  render(<RunsTable runs={[makeRun({ id: 7, source: "github" }), makeRun({ id: 6, pipeline: "api" })]} {...props} client={{ getRunJobs }} />);
  expect(screen.getByText(/Pick a run to see its jobs/)).toBeInTheDocument();
  const trigger = screen.getByRole("button", { name: "web jobs" });
  expect(trigger.tagName).toBe("BUTTON");
  expect(trigger).toHaveAttribute("aria-expanded", "false");
  expect(trigger.closest("th")).toHaveTextContent(/^web$/);

  // Enter on a focused button is its click.
  trigger.focus();
  fireEvent.click(trigger);
  expect(trigger).toHaveAttribute("aria-expanded", "true");
  const panel = screen.getByRole("region", { name: /jobs of web at 5184f9c/i });
  expect(trigger).toHaveAttribute("aria-controls", panel.id);
  expect(await within(panel).findByText("linux-runner-1")).toBeInTheDocument();
  expect(getRunJobs).toHaveBeenCalledWith(7);

  fireEvent.keyDown(within(panel).getByRole("link", { name: /test/ }), { key: "Escape" });
  expect(screen.queryByRole("region", { name: /jobs of/i })).toBeNull();
  expect(trigger).toHaveAttribute("aria-expanded", "false");
  expect(trigger).toHaveFocus();

  // A click anywhere on the row opens it too; its Close button gives focus back to the run.
  fireEvent.click(within(screen.getAllByRole("row")[1]!).getByText("main"));
  const again = screen.getByRole("region", { name: /jobs of web/i });
  await act(async () => undefined);
  fireEvent.click(within(again).getByRole("button", { name: "Close jobs" }));
  expect(screen.queryByRole("region", { name: /jobs of/i })).toBeNull();
  expect(trigger).toHaveFocus();
});

it("leaves the commit link to open the CI, not the jobs", () => {
  render(<RunsTable runs={[makeRun({ url: "https://ci.example/runs/1" })]} {...props} />);
  fireEvent.click(screen.getByRole("link"));
  expect(screen.queryByRole("region", { name: /jobs of/i })).toBeNull();
});

it("shows one run's jobs at a time", async () => {
  render(<RunsTable runs={[makeRun({ id: 2, pipeline: "api" }), makeRun({ id: 1 })]} {...props} />);
  fireEvent.click(screen.getByRole("button", { name: "api jobs" }));
  fireEvent.click(screen.getByRole("button", { name: "web jobs" }));
  await act(async () => undefined);
  expect(screen.getAllByRole("region", { name: /jobs of/i })).toHaveLength(1);
  expect(screen.getByRole("button", { name: "api jobs" })).toHaveAttribute("aria-expanded", "false");
});
