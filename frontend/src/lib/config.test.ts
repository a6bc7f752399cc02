import { describe, expect, it, vi } from "vitest";
import { loadConfig, toWebSocketUrl } from "./config";

describe("loadConfig", () => {
  it("uses config.json beside the app", async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ apiUrl: "http://10.0.0.5:9000/" })));
    expect(await loadConfig(fetchImpl)).toEqual({ apiUrl: "http://10.0.0.5:9000" });
    expect(fetchImpl).toHaveBeenCalledWith("./config.json", expect.anything());
  });
  it("falls back when config.json is missing", async () => {
    const fetchImpl = vi.fn(async () => new Response("not found", { status: 404 }));
    const { apiUrl } = await loadConfig(fetchImpl);
    expect(apiUrl).toBe(import.meta.env.VITE_API_URL || "http://127.0.0.1:8000");
  });
});

describe("toWebSocketUrl", () => {
  it("maps http to ws and https to wss, leaving empty filters out", () => {
    expect(toWebSocketUrl("http://127.0.0.1:8000", "/ws/metrics", { minutes: "60", pipeline: "", branch: "" })).toBe(
      "ws://127.0.0.1:8000/ws/metrics?minutes=60",
    );
    expect(toWebSocketUrl("https://pulse.example/api/", "/ws/metrics", { minutes: "1440", branch: "main" })).toBe(
      "wss://pulse.example/api/ws/metrics?minutes=1440&branch=main",
    );
  });
});
