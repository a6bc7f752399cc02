import { fireEvent, render, screen, waitFor } from "@testing-library/react";
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
      if (path === "/api/runs") return json([makeRun()]);
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
  expect(screen.getByLabelText("Window")).toHaveValue("60");
  expect(screen.getByLabelText("Branch")).toHaveValue("main");

  fireEvent.change(screen.getByLabelText("Window"), { target: { value: "10080" } });
  expect(window.location.search).toBe("?minutes=10080&branch=main");
  await waitFor(() => expect(FakeWebSocket.latest().url).toContain("minutes=10080"));
});
