import { describe, expect, it, vi } from "vitest";
import { ApiError, createClient } from "./client";

function respond(status: number, body: unknown) {
  return vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(JSON.stringify(body), { status }));
}

describe("api client", () => {
  it("drops empty filters from the query string", async () => {
    const fetchImpl = respond(200, []);
    await createClient("http://api.test", fetchImpl).getRuns({ limit: 20, pipeline: "", branch: "main" });
    expect(fetchImpl.mock.calls[0]?.[0]).toBe("http://api.test/api/runs?limit=20&branch=main");
  });

  it("returns a runs page with the X-Next-Cursor header as the next page's cursor", async () => {
    const fetchImpl = vi.fn(
      async (_url: RequestInfo | URL, _init?: RequestInit) =>
        new Response(JSON.stringify([{ id: 7 }]), { status: 200, headers: { "X-Next-Cursor": "abc123" } }),
    );
    const client = createClient("http://api.test", fetchImpl);
    expect(await client.getRuns({ limit: 20, pipeline: "web", before: "xyz" })).toEqual({ runs: [{ id: 7 }], nextCursor: "abc123" });
    expect(fetchImpl.mock.calls[0]?.[0]).toBe("http://api.test/api/runs?limit=20&pipeline=web&before=xyz");
  });

  it("has no next cursor on the last page", async () => {
    expect(await createClient("http://api.test", respond(200, [])).getRuns()).toEqual({ runs: [], nextCursor: null });
  });

  it("asks for a run's jobs by its id, and throws the 404 envelope of an unknown run", async () => {
    const ok = respond(200, []);
    expect(await createClient("http://api.test", ok).getRunJobs(42)).toEqual([]);
    expect(ok.mock.calls[0]?.[0]).toBe("http://api.test/api/runs/42/jobs");

    const missing = respond(404, { error: "NotFound", detail: "No run has id 42." });
    await expect(createClient("http://api.test", missing).getRunJobs(42)).rejects.toMatchObject({
      status: 404,
      kind: "NotFound",
      message: "NotFound: No run has id 42.",
    });
  });

  it("posts the simulate body as JSON", async () => {
    const fetchImpl = respond(200, { created: 50, pipelines: ["web"] });
    await createClient("http://api.test", fetchImpl).simulate({ count: 50, fail_rate: 0.25 }, { pipelines: ["web"] });
    const [url, init] = fetchImpl.mock.calls[0]!;
    expect(url).toBe("http://api.test/api/simulate?count=50&fail_rate=0.25");
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe('{"pipelines":["web"]}');
  });

  it("throws the error envelope's kind and message", async () => {
    const fetchImpl = respond(403, { error: "Forbidden", detail: "Demo mode is off: set PULSE_DEMO=true." });
    const error = await createClient("http://api.test", fetchImpl)
      .simulate({ count: 1 }, { pipelines: ["web"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, kind: "Forbidden", message: "Forbidden: Demo mode is off: set PULSE_DEMO=true." });
  });

  it("joins field errors of a validation envelope", async () => {
    const fetchImpl = respond(422, { error: "ValidationError", detail: [{ field: "minutes", message: "too large" }] });
    await expect(createClient("http://api.test", fetchImpl).getSummary({ minutes: 999999 })).rejects.toThrow(
      "ValidationError: minutes: too large",
    );
  });

  it("names the API when it cannot be reached", async () => {
    const fetchImpl = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(createClient("http://api.test", fetchImpl).getInfo()).rejects.toMatchObject({
      kind: "NetworkError",
      message: "Cannot reach the API at http://api.test.",
    });
  });
});
