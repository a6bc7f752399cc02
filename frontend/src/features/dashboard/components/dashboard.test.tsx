import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Summary } from "../../../api/client";
import {
  EMPTY_SUMMARY,
  FakeWebSocket,
  fakeClient,
  makeInfo,
  makeJob,
  makePipeline,
  makeRun,
  makeSummary,
  runsPage,
} from "../../../test/fixtures";
import { Dashboard } from "./dashboard";

const API = "http://api.test";
const filters = { minutes: 1440, pipeline: "", branch: "" };
const noJitter = { initialMs: 500, maxMs: 10_000, random: () => 1 };

beforeEach(() => {
  FakeWebSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeWebSocket);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function renderDashboard(client = fakeClient(), props: Partial<Parameters<typeof Dashboard>[0]> = {}) {
  const onFiltersChange = vi.fn();
  render(
    <Dashboard client={client} apiUrl={API} filters={filters} onFiltersChange={onFiltersChange} backoff={noJitter} {...props} />,
  );
  return { client, onFiltersChange };
}

describe("states", () => {
  it("shows a loading skeleton until the first load answers", async () => {
    let resolve: (value: Summary) => void = () => undefined;
    const client = fakeClient({ getSummary: vi.fn(() => new Promise<Summary>((r) => (resolve = r))) });
    renderDashboard(client);
    expect(screen.getByText("Loading the dashboard…")).toBeInTheDocument();
    await act(async () => resolve(makeSummary()));
    expect(screen.queryByText("Loading the dashboard…")).toBeNull();
    expect(screen.getByTestId("kpi-total")).toHaveTextContent("22");
  });

  it("explains how to send a first run, and simulates in demo mode", async () => {
    const client = fakeClient({
      getSummary: vi.fn(async () => EMPTY_SUMMARY),
      getRuns: vi.fn(async () => runsPage([])),
      getPipelines: vi.fn(async () => []),
      getInfo: vi.fn(async () => makeInfo({ demo: true })),
    });
    renderDashboard(client);
    expect(await screen.findByRole("heading", { name: "No runs yet" })).toBeInTheDocument();
    const curl = screen.getByLabelText("Example curl command");
    expect(curl).toHaveTextContent(`curl -X POST ${API}/api/events/run`);
    expect(curl).toHaveTextContent('Authorization: Bearer <token>');
    expect(curl).toHaveTextContent('"pipeline": "web", "status": "success", "duration_sec": 42');

    fireEvent.click(screen.getByRole("button", { name: "Simulate 50 demo runs" }));
    await waitFor(() =>
      expect(client.simulate).toHaveBeenCalledWith({ count: 50, fail_rate: 0.25 }, { pipelines: ["web", "api", "worker", "docs"] }),
    );
    expect(await screen.findByText("Simulated 50 runs.")).toBeInTheDocument();
  });

  it("offers no simulate button outside demo mode", async () => {
    renderDashboard(
      fakeClient({
        getSummary: vi.fn(async () => EMPTY_SUMMARY),
        getRuns: vi.fn(async () => runsPage([])),
        getPipelines: vi.fn(async () => []),
      }),
    );
    expect(await screen.findByRole("heading", { name: "No runs yet" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /simulate/i })).toBeNull();
  });

  it("shows the error with a Retry that loads again", async () => {
    const getSummary = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(503, "DatabaseUnavailable", "DatabaseUnavailable: the database is unreachable"))
      .mockResolvedValue(makeSummary());
    renderDashboard(fakeClient({ getSummary }));
    expect(await screen.findByRole("alert")).toHaveTextContent("DatabaseUnavailable: the database is unreachable");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("kpi-total")).toHaveTextContent("22");
    expect(getSummary).toHaveBeenCalledTimes(2);
  });
});

describe("header", () => {
  it("shows the product, the environment and demo badges", async () => {
    renderDashboard(fakeClient({ getInfo: vi.fn(async () => makeInfo({ environment: "staging", demo: true })) }));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Pipeline Pulse");
    expect(await screen.findByText("staging")).toBeInTheDocument();
    expect(screen.getByText("demo")).toBeInTheDocument();
  });

  it("offers the branches of every pipeline and reports a change", async () => {
    const { onFiltersChange } = renderDashboard();
    await screen.findByTestId("kpi-total");
    const branch = screen.getByLabelText("Branch");
    expect([...branch.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["All branches", "feature/x", "main"]);
    fireEvent.change(branch, { target: { value: "main" } });
    expect(onFiltersChange).toHaveBeenCalledWith({ minutes: 1440, pipeline: "", branch: "main" });
    fireEvent.change(screen.getByLabelText("Window"), { target: { value: "60" } });
    expect(onFiltersChange).toHaveBeenCalledWith({ minutes: 60, pipeline: "", branch: "" });
  });
});

describe("live", () => {
  it("opens the socket with the filters and applies what it says", async () => {
    renderDashboard(undefined, { filters: { minutes: 60, pipeline: "", branch: "main" } });
    await screen.findByTestId("kpi-total");
    const socket = FakeWebSocket.latest();
    expect(socket.url).toBe("ws://api.test/ws/metrics?minutes=60&branch=main");
    expect(screen.getByText("Connecting").closest("[aria-live]")).toHaveAttribute("aria-live", "polite");

    act(() => socket.open());
    expect(screen.getByText("Live")).toBeInTheDocument();

    act(() => socket.send({ type: "metrics_update", as_of: new Date().toISOString(), payload: makeSummary({ total: 23 }) }));
    expect(screen.getByTestId("kpi-total")).toHaveTextContent("23");
    expect(document.querySelector(".conn__age")).toHaveTextContent(/^updated \d+ s ago$/);

    act(() =>
      socket.send({
        type: "runs_update",
        as_of: new Date().toISOString(),
        payload: [makeRun({ id: 9, pipeline: "worker", started_at: "2026-01-10T11:59:30Z" })],
      }),
    );
    expect(screen.getAllByRole("rowheader").map((c) => c.textContent)).toEqual(["worker", "web"]);
  });

  it("refreshes the branch options when a run arrives on a new branch", async () => {
    const getPipelines = vi.fn(async () => [makePipeline()]);
    renderDashboard(fakeClient({ getPipelines }));
    await screen.findByTestId("kpi-total");
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    const as_of = new Date().toISOString();
    act(() => socket.send({ type: "runs_update", as_of, payload: [makeRun({ id: 5, branch: "main" })] }));
    expect(getPipelines).toHaveBeenCalledTimes(1);
    getPipelines.mockResolvedValue([makePipeline({ branches: ["release/2", "main", "feature/x"] })]);
    act(() => socket.send({ type: "runs_update", as_of, payload: [makeRun({ id: 6, branch: "release/2" })] }));
    expect(getPipelines).toHaveBeenCalledTimes(2);
    await waitFor(() => expect(screen.getByRole("option", { name: "release/2" })).toBeInTheDocument());
  });

  it("says Reconnecting, retries with backoff and reloads runs after reconnecting", async () => {
    const getRuns = vi.fn(async () => runsPage([makeRun()]));
    renderDashboard(fakeClient({ getRuns }));
    await screen.findByTestId("kpi-total");
    vi.useFakeTimers();
    const first = FakeWebSocket.latest();
    act(() => first.open());
    act(() => first.drop());
    expect(screen.getByText("Reconnecting")).toBeInTheDocument();
    expect(FakeWebSocket.instances).toHaveLength(1);

    act(() => vi.advanceTimersByTime(500));
    expect(FakeWebSocket.instances).toHaveLength(2);
    const calls = getRuns.mock.calls.length;
    act(() => FakeWebSocket.latest().open());
    expect(screen.getByText("Live")).toBeInTheDocument();
    expect(getRuns.mock.calls.length).toBe(calls + 1);
  });

  it("re-opens the socket when the filters change", async () => {
    const client = fakeClient();
    const { rerender } = render(
      <Dashboard client={client} apiUrl={API} filters={filters} onFiltersChange={vi.fn()} backoff={noJitter} />,
    );
    await screen.findByTestId("kpi-total");
    const first = FakeWebSocket.latest();
    rerender(
      <Dashboard client={client} apiUrl={API} filters={{ ...filters, minutes: 60 }} onFiltersChange={vi.fn()} backoff={noJitter} />,
    );
    expect(first.closed).toBe(true);
    expect(FakeWebSocket.latest().url).toBe("ws://api.test/ws/metrics?minutes=60");
    await waitFor(() => expect(client.getSummary).toHaveBeenLastCalledWith({ minutes: 60, pipeline: "", branch: "" }));
  });
});

describe("GitHub runs", () => {
  it("links the workflow, tags the re-run and opens its jobs", async () => {
    const client = fakeClient({
      getSummary: vi.fn(async () => makeSummary({ per_pipeline: [makeSummary().per_pipeline[0]!, { ...makeSummary().per_pipeline[0]!, pipeline: "acme/web/CI" }] })),
      getRuns: vi.fn(async () =>
        runsPage([makeRun({ id: 41, pipeline: "acme/web/CI", source: "github", attempt: 2, status: "failure", conclusion: "timed_out" })]),
      ),
      getPipelines: vi.fn(async () => [
        makePipeline(),
        makePipeline({ id: 2, name: "acme/web/CI", url: "https://github.com/acme/web/actions/workflows/ci.yml" }),
      ]),
      getRunJobs: vi.fn(async () => [makeJob({ runner_name: "win-runner-3" })]),
    });
    renderDashboard(client);
    const link = await screen.findByRole("link", { name: "acme/web/CI workflow (opens in a new tab)" });
    expect(link).toHaveAttribute("href", "https://github.com/acme/web/actions/workflows/ci.yml");
    expect(screen.queryByRole("link", { name: /^web workflow/ })).toBeNull();

    const row = screen.getAllByRole("row")[1]!;
    expect(row).toHaveTextContent("failure · timed out attempt 2");
    fireEvent.click(screen.getByRole("button", { name: "acme/web/CI jobs" }));
    expect(await screen.findByText("win-runner-3")).toBeInTheDocument();
    expect(client.getRunJobs).toHaveBeenCalledWith(41);
  });
});

describe("pipeline filter", () => {
  it("reports a pipeline picked in the health panel or in the header", async () => {
    const { onFiltersChange } = renderDashboard(
      fakeClient({ getPipelines: vi.fn(async () => [makePipeline(), makePipeline({ id: 2, name: "api", branches: ["main"] })]) }),
    );
    await screen.findByTestId("kpi-total");
    fireEvent.click(screen.getByRole("button", { name: "api" }));
    expect(onFiltersChange).toHaveBeenLastCalledWith({ minutes: 1440, pipeline: "api", branch: "" });
    const select = screen.getByLabelText("Pipeline");
    expect([...select.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["All pipelines", "web", "api"]);
    fireEvent.change(select, { target: { value: "web" } });
    expect(onFiltersChange).toHaveBeenLastCalledWith({ minutes: 1440, pipeline: "web", branch: "" });
  });

  it("asks every source for the chosen pipeline only, shows it in the header and clears it", async () => {
    const client = fakeClient({
      getSummary: vi.fn(async () => makeSummary({ per_pipeline: makeSummary().per_pipeline.filter((p) => p.pipeline === "api") })),
      getPipelines: vi.fn(async () => [makePipeline(), makePipeline({ id: 2, name: "api", branches: ["release/2"] })]),
    });
    const { onFiltersChange } = renderDashboard(client, { filters: { minutes: 60, pipeline: "api", branch: "" } });
    await screen.findByTestId("kpi-total");
    expect(client.getSummary).toHaveBeenCalledWith({ minutes: 60, pipeline: "api", branch: "" });
    expect(client.getRuns).toHaveBeenCalledWith({ limit: 20, pipeline: "api", branch: "" });
    expect(FakeWebSocket.latest().url).toBe("ws://api.test/ws/metrics?minutes=60&pipeline=api");

    expect(screen.getByLabelText("Pipeline")).toHaveValue("api");
    // Only the chosen pipeline's branches: another one's would show nothing.
    expect([...screen.getByLabelText("Branch").querySelectorAll("option")].map((o) => o.textContent)).toEqual([
      "All branches",
      "release/2",
    ]);
    expect(screen.getByRole("button", { name: "api" })).toHaveAttribute("aria-pressed", "true");
    fireEvent.click(screen.getByRole("button", { name: "All pipelines" }));
    expect(onFiltersChange).toHaveBeenLastCalledWith({ minutes: 60, pipeline: "", branch: "" });
  });

  it("does not take a pipeline with no runs for an empty database", async () => {
    renderDashboard(
      fakeClient({ getSummary: vi.fn(async () => EMPTY_SUMMARY), getRuns: vi.fn(async () => runsPage([])) }),
      { filters: { ...filters, pipeline: "docs" } },
    );
    expect(await screen.findByText("No runs of docs yet.")).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "No runs yet" })).toBeNull();
  });
});

describe("Load more", () => {
  const at = (minute: number) => `2026-01-10T11:${String(minute).padStart(2, "0")}:00Z`;
  const runs = (from: number, to: number) =>
    Array.from({ length: from - to + 1 }, (_, i) => makeRun({ id: from - i, started_at: at(from - i) }));

  it("fetches the page after the X-Next-Cursor one, appends it, and hides itself on the last page", async () => {
    const getRuns = vi
      .fn()
      .mockResolvedValueOnce(runsPage(runs(50, 31), "cursor-31"))
      .mockResolvedValueOnce(runsPage(runs(30, 11), "cursor-11"))
      .mockResolvedValueOnce(runsPage(runs(10, 1), null));
    renderDashboard(fakeClient({ getRuns }), { filters: { minutes: 1440, pipeline: "web", branch: "main" } });
    await screen.findByTestId("kpi-total");
    expect(screen.getAllByRole("rowheader")).toHaveLength(20);

    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(getRuns).toHaveBeenLastCalledWith({ limit: 20, pipeline: "web", branch: "main", before: "cursor-31" });
    await waitFor(() => expect(screen.getAllByRole("rowheader")).toHaveLength(40));
    expect(screen.getByText("40 runs shown")).toBeInTheDocument();

    // A live run joins at the top; the loaded pages stay, newest first.
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    act(() => socket.send({ type: "runs_update", as_of: at(59), payload: [makeRun({ id: 51, pipeline: "worker", started_at: at(51) })] }));
    expect(screen.getAllByRole("rowheader")).toHaveLength(41);
    expect(screen.getAllByRole("rowheader")[0]).toHaveTextContent("worker");

    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(getRuns).toHaveBeenLastCalledWith({ limit: 20, pipeline: "web", branch: "main", before: "cursor-11" });
    await waitFor(() => expect(screen.getAllByRole("rowheader")).toHaveLength(51));
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
    expect(screen.getByText("All 51 runs shown")).toBeInTheDocument();
    const started = [...document.querySelectorAll('td[data-label="Started"] time')].map((t) => t.getAttribute("datetime"));
    expect(started).toEqual([...started].sort().reverse());
  });

  it("takes the newest runs again when live runs pushed rows out past the cursor", async () => {
    const getRuns = vi
      .fn()
      .mockResolvedValueOnce(runsPage(runs(50, 31), "cursor-31"))
      .mockResolvedValueOnce(runsPage(runs(51, 12), "cursor-12"));
    renderDashboard(fakeClient({ getRuns }));
    await screen.findByTestId("kpi-total");
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    act(() => socket.send({ type: "runs_update", as_of: at(59), payload: [makeRun({ id: 51, started_at: at(51) })] }));
    expect(screen.getAllByRole("rowheader")).toHaveLength(20);

    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(getRuns).toHaveBeenLastCalledWith({ limit: 40, pipeline: "", branch: "" });
    await waitFor(() => expect(screen.getAllByRole("rowheader")).toHaveLength(40));
    expect(screen.getByRole("button", { name: "Load more" })).toBeInTheDocument();
  });

  it("says so when a page fails, and can try again", async () => {
    const getRuns = vi
      .fn()
      .mockResolvedValueOnce(runsPage(runs(50, 31), "cursor-31"))
      .mockRejectedValueOnce(new ApiError(0, "NetworkError", "Cannot reach the API at http://api.test."))
      .mockResolvedValueOnce(runsPage(runs(30, 29), null));
    renderDashboard(fakeClient({ getRuns }));
    await screen.findByTestId("kpi-total");
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByText("Could not load more runs: Cannot reach the API at http://api.test.")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(getRuns).toHaveBeenLastCalledWith({ limit: 20, pipeline: "", branch: "", before: "cursor-31" });
    await waitFor(() => expect(screen.getAllByRole("rowheader")).toHaveLength(22));
  });
});

describe("the link to the trends app", () => {
  it("carries the pipeline and branch filters", async () => {
    const { trendsLink } = await import("../../../lib/url-state");
    expect(trendsLink("http://127.0.0.1:8501", { pipeline: "acme/web/CI", branch: "main" })).toBe(
      "http://127.0.0.1:8501/?pipeline=acme%2Fweb%2FCI&branch=main",
    );
    expect(trendsLink("http://127.0.0.1:8501/", { pipeline: "", branch: "" })).toBe("http://127.0.0.1:8501/");
  });
});
