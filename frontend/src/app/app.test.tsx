import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { FakeWebSocket, makeInfo, makePipeline, makeRun, makeSummary } from "../test/fixtures";
import { App } from "./app";

const API = "http://api.from-config:9000";

beforeEach(() => {
  FakeWebSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeWebSocket);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
      if (url === "./config.json") return json({ apiUrl: API });
      const path = url.replace(API, "").split("?")[0];
      if (path === "/api/info") return json(makeInfo());
      if (path === "/api/metrics/summary") return json(makeSummary());
      if (path === "/api/runs") {
        // The first page names the next one in X-Next-Cursor, as the API does; the second is the last.
        if (new URL(url).searchParams.get("before") === "page-2") return json([makeRun({ id: 1, started_at: "2026-01-10T10:00:00Z" })]);
        return new Response(JSON.stringify([makeRun({ id: 2 })]), { status: 200, headers: { "X-Next-Cursor": "page-2" } });
      }
      if (path === "/api/pipelines") return json([makePipeline()]);
      return new Response(JSON.stringify({ error: "NotFound", detail: url }), { status: 404 });
    }),
  );
  window.history.replaceState(null, "", "/?minutes=60&branch=main");
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

it("reads config.json, restores the filters from the URL and keeps them there", async () => {
  render(<App />);
  expect(await screen.findByTestId("kpi-total")).toHaveTextContent("22");
  const calls = vi.mocked(fetch).mock.calls.map(([url]) => String(url));
  expect(calls).toContain(`${API}/api/metrics/summary?minutes=60&branch=main`);
  expect(calls).toContain(`${API}/api/runs?limit=20&branch=main`);
  expect(FakeWebSocket.latest().url).toBe("ws://api.from-config:9000/ws/metrics?minutes=60&branch=main");
  expect(screen.getByLabelText("Pipeline")).toHaveValue("");
  expect(screen.getByLabelText("Window")).toHaveValue("60");
  expect(screen.getByLabelText("Branch")).toHaveValue("main");

  fireEvent.change(screen.getByLabelText("Window"), { target: { value: "10080" } });
  expect(window.location.search).toBe("?minutes=10080&branch=main");
  await waitFor(() => expect(FakeWebSocket.latest().url).toContain("minutes=10080"));
});

const requested = () => vi.mocked(fetch).mock.calls.map(([url]) => String(url));

it("narrows everything to a pipeline picked in the health panel, keeps it in the URL and clears it", async () => {
  window.history.replaceState(null, "", "/?minutes=60");
  render(<App />);
  await screen.findByTestId("kpi-total");

  fireEvent.click(screen.getByRole("button", { name: "api" }));
  expect(window.location.search).toBe("?minutes=60&pipeline=api");
  await waitFor(() => expect(requested()).toContain(`${API}/api/metrics/summary?minutes=60&pipeline=api`));
  expect(requested()).toContain(`${API}/api/runs?limit=20&pipeline=api`);
  await waitFor(() => expect(FakeWebSocket.latest().url).toBe("ws://api.from-config:9000/ws/metrics?minutes=60&pipeline=api"));
  expect(screen.getByLabelText("Pipeline")).toHaveValue("api");

  fireEvent.click(screen.getByRole("button", { name: "All pipelines" }));
  expect(window.location.search).toBe("?minutes=60");
  expect(screen.getByLabelText("Pipeline")).toHaveValue("");

  // Back goes to the filtered view again.
  act(() => window.history.back());
  await waitFor(() => expect(screen.getByLabelText("Pipeline")).toHaveValue("api"));
  expect(window.location.search).toBe("?minutes=60&pipeline=api");
});

it("starts filtered when the URL names a pipeline", async () => {
  window.history.replaceState(null, "", "/?pipeline=web");
  render(<App />);
  await screen.findByTestId("kpi-total");
  expect(requested()).toContain(`${API}/api/metrics/summary?minutes=1440&pipeline=web`);
  expect(requested()).toContain(`${API}/api/runs?limit=20&pipeline=web`);
  expect(FakeWebSocket.latest().url).toBe("ws://api.from-config:9000/ws/metrics?minutes=1440&pipeline=web");
  expect(window.location.search).toBe("?pipeline=web&minutes=1440");
});

it("loads the next runs with the cursor from the X-Next-Cursor header", async () => {
  window.history.replaceState(null, "", "/");
  render(<App />);
  await screen.findByTestId("kpi-total");
  expect(screen.getAllByRole("rowheader")).toHaveLength(1);
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  await waitFor(() => expect(screen.getAllByRole("rowheader")).toHaveLength(2));
  expect(requested()).toContain(`${API}/api/runs?limit=20&before=page-2`);
  expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
});
