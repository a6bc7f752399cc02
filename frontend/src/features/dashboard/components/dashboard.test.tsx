import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Summary } from "../../../api/client";
import { EMPTY_SUMMARY, FakeWebSocket, fakeClient, makeInfo, makePipeline, makeRun, makeSummary } from "../../../test/fixtures";
import { Dashboard } from "./dashboard";

const API = "http://api.test";
const filters = { minutes: 1440, branch: "" };
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
      getRuns: vi.fn(async () => []),
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
      fakeClient({ getSummary: vi.fn(async () => EMPTY_SUMMARY), getRuns: vi.fn(async () => []), getPipelines: vi.fn(async () => []) }),
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
    expect(onFiltersChange).toHaveBeenCalledWith({ minutes: 1440, branch: "main" });
    fireEvent.change(screen.getByLabelText("Window"), { target: { value: "60" } });
    expect(onFiltersChange).toHaveBeenCalledWith({ minutes: 60, branch: "" });
  });
});

describe("live", () => {
  it("opens the socket with the filters and applies what it says", async () => {
    renderDashboard(undefined, { filters: { minutes: 60, branch: "main" } });
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
    const getRuns = vi.fn(async () => [makeRun()]);
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
    rerender(<Dashboard client={client} apiUrl={API} filters={{ minutes: 60, branch: "" }} onFiltersChange={vi.fn()} backoff={noJitter} />);
    expect(first.closed).toBe(true);
    expect(FakeWebSocket.latest().url).toBe("ws://api.test/ws/metrics?minutes=60&branch=");
    await waitFor(() => expect(client.getSummary).toHaveBeenLastCalledWith({ minutes: 60, branch: "" }));
  });
});
