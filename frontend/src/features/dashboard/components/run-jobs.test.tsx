import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Job } from "../../../api/client";
import { NOW, makeJob, makeRun, makeStep } from "../../../test/fixtures";
import { JOBS_POLL_MS } from "../api/use-run-jobs";
import { RunJobs } from "./run-jobs";

afterEach(() => vi.useRealTimers());

const githubRun = makeRun({ id: 7, source: "github", status: "failure", conclusion: "timed_out", attempt: 2 });

function renderJobs(getRunJobs: (id: number) => Promise<Job[]>, run = githubRun, now = NOW) {
  const onClose = vi.fn();
  const client = { getRunJobs: vi.fn(getRunJobs) };
  const view = render(<RunJobs id="run-7-jobs" client={client} run={run} now={now} onClose={onClose} />);
  return { ...view, client, onClose };
}

const timedOut = makeJob({
  id: 9001,
  name: "test",
  conclusion: "timed_out",
  queue_sec: 72,
  duration_sec: 2500,
  runner_name: "win-runner-3",
  runner_group: "self-hosted",
  runner_labels: ["self-hosted", "windows"],
  steps: [
    makeStep({ number: 1, name: "Set up job", duration_sec: 3 }),
    makeStep({ number: 2, name: "Build", duration_sec: 95 }),
    makeStep({ number: 3, name: "Test", conclusion: "failure", duration_sec: 2380 }),
    makeStep({ number: 4, name: "Upload logs", duration_sec: 12 }),
  ],
});

describe("RunJobs", () => {
  it("lists each job with its result, runner, queue time, duration and slowest steps", async () => {
    renderJobs(async () => [timedOut, makeJob({ id: 9002, name: "lint", url: null })]);
    expect(screen.getByRole("status")).toHaveTextContent("Loading jobs…");
    const panel = screen.getByRole("region", { name: /^jobs of web/i });
    expect(within(panel).getByRole("heading", { level: 3 })).toHaveTextContent("Jobs of web at 5184f9c · attempt 2");
    await within(panel).findByText("win-runner-3");
    const [test, lint] = within(panel).getAllByRole("listitem").filter((li) => li.classList.contains("job"));

    const badge = within(test!).getByText("timed out");
    expect(badge).toHaveClass("badge--failure");
    expect(within(badge).getByText("✕")).toHaveAttribute("aria-hidden", "true");
    const link = within(test!).getByRole("link", { name: "test (opens in a new tab)" });
    expect(link).toHaveAttribute("href", "https://github.com/acme/web/actions/runs/7001/job/9001");
    expect(link).toHaveAttribute("target", "_blank");
    expect(link.getAttribute("rel")).toContain("noopener");

    const fact = (item: HTMLElement, term: string) => within(item).getByText(term, { selector: "dt" }).nextElementSibling;
    expect(fact(test!, "Runner")).toHaveTextContent(/^win-runner-3 · group self-hosted\s*self-hostedwindows$/);
    expect(within(test!).getByRole("list", { name: "Runner labels" }).children).toHaveLength(2);
    expect(fact(test!, "Queued")).toHaveTextContent(/^1m 12s$/);
    expect(fact(test!, "Duration")).toHaveTextContent(/^41m 40s$/);

    expect(within(test!).getByRole("heading", { name: /slowest steps/i })).toHaveTextContent("Slowest steps of 4");
    const steps = within(test!)
      .getAllByRole("listitem")
      .filter((li) => li.classList.contains("step"))
      .map((li) => li.textContent);
    expect(steps).toEqual(["Test · failure39m 40s", "Build1m 35s", "Upload logs12 s"]);

    expect(within(lint!).getByText("success")).toHaveClass("badge--success");
    expect(within(lint!).queryByRole("link")).toBeNull();
    expect(within(lint!).getByText("lint")).toBeInTheDocument();
  });

  it("counts a running job's duration and a waiting job's queue time as they go", async () => {
    const running = makeJob({
      id: 1,
      name: "build",
      status: "in_progress",
      conclusion: null,
      created_at: "2026-01-10T11:58:50Z",
      started_at: "2026-01-10T11:59:00Z",
      completed_at: null,
      queue_sec: 10,
      duration_sec: null,
    });
    const waiting = makeJob({
      id: 2,
      name: "deploy",
      status: "queued",
      conclusion: null,
      created_at: "2026-01-10T11:59:30Z",
      started_at: null,
      completed_at: null,
      queue_sec: null,
      duration_sec: null,
      runner_name: null,
      runner_group: null,
      runner_labels: [],
      steps: [],
    });
    const run = makeRun({ status: "running", finished_at: null, duration_sec: null });
    const { rerender, client, onClose } = renderJobs(async () => [running, waiting], run);
    const build = (await screen.findByText("build")).closest("li")!;
    const deploy = screen.getByText("deploy").closest("li")!;
    expect(within(build).getByText("running", { selector: ".badge" })).toBeInTheDocument();
    expect(within(build).getByText("running 1m 00s")).toBeInTheDocument();
    expect(within(deploy).getByText("queued", { selector: ".badge" })).toBeInTheDocument();
    expect(within(deploy).getByText("waiting 30 s")).toBeInTheDocument();
    expect(within(deploy).getByText("not assigned yet")).toBeInTheDocument();
    expect(within(deploy).getByText("No step timings yet.")).toBeInTheDocument();

    rerender(<RunJobs id="run-7-jobs" client={client} run={run} now={NOW + 15_000} onClose={onClose} />);
    expect(within(build).getByText("running 1m 15s")).toBeInTheDocument();
    expect(within(deploy).getByText("waiting 45 s")).toBeInTheDocument();
  });

  it("explains where jobs come from when a run has none", async () => {
    renderJobs(async () => [], makeRun());
    expect(
      await screen.findByText("No jobs recorded for this run — jobs come from GitHub's workflow_job webhook."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("list")).toBeNull();
  });

  it("says why the jobs did not load, and tries again", async () => {
    let fail = true;
    const { client } = renderJobs(async () => {
      if (fail) throw new ApiError(404, "NotFound", "NotFound: No run has id 7.");
      return [timedOut];
    });
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load the jobs: NotFound: No run has id 7.");
    fail = false;
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("win-runner-3")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(client.getRunJobs).toHaveBeenCalledTimes(2);
  });

  it("closes from its button", async () => {
    const { onClose } = renderJobs(async () => []);
    await screen.findByText(/No jobs recorded/);
    fireEvent.click(screen.getByRole("button", { name: "Close jobs" }));
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("asks again while the run is going, and once more when it finishes", async () => {
    vi.useFakeTimers();
    const running = makeRun({ id: 7, status: "running", finished_at: null, duration_sec: null });
    const { client, rerender, onClose } = renderJobs(async () => [makeJob()], running);
    await act(async () => undefined);
    expect(client.getRunJobs).toHaveBeenCalledTimes(1);
    await act(async () => vi.advanceTimersByTime(JOBS_POLL_MS));
    expect(client.getRunJobs).toHaveBeenCalledTimes(2);

    rerender(<RunJobs id="run-7-jobs" client={client} run={makeRun({ id: 7 })} now={NOW} onClose={onClose} />);
    await act(async () => undefined);
    expect(client.getRunJobs).toHaveBeenCalledTimes(3);
    await act(async () => vi.advanceTimersByTime(JOBS_POLL_MS * 3));
    expect(client.getRunJobs).toHaveBeenCalledTimes(3);
    expect(client.getRunJobs).toHaveBeenLastCalledWith(7);
  });
});
