import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type Info = Schemas["InfoOut"];
export type Summary = Schemas["Summary"];
export type PipelineSummary = Schemas["PipelineSummary"];
export type Health = Schemas["Health"];
export type Run = Schemas["RunOut"];
export type RunStatus = Schemas["RunStatus"];
export type Pipeline = Schemas["PipelineOut"];
export type Job = Schemas["JobOut"];
export type JobStep = Schemas["StepOut"];
export type SimulateResult = Schemas["SimulateOut"];
export type SimulateRequest = Schemas["SimulateRequest"];

export type SummaryQuery = NonNullable<paths["/api/metrics/summary"]["get"]["parameters"]["query"]>;
export type RunsQuery = NonNullable<paths["/api/runs"]["get"]["parameters"]["query"]>;
export type SimulateQuery = NonNullable<paths["/api/simulate"]["post"]["parameters"]["query"]>;

/** One page of GET /api/runs; `nextCursor` (its X-Next-Cursor header) is the next page's `before`, null on the last. */
export type RunsPage = { runs: Run[]; nextCursor: string | null };

/** The API's one error envelope, the body of every 4xx and 5xx answer. */
export type ErrorEnvelope = components["schemas"]["ErrorOut"];

/** A failed call: `kind` is the envelope's `error` ("ValidationError", "Forbidden", ...) or "NetworkError". */
export class ApiError extends Error {
  readonly status: number;
  readonly kind: string;
  readonly detail: ErrorEnvelope["detail"] | null;

  constructor(status: number, kind: string, message: string, detail: ErrorEnvelope["detail"] | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.kind = kind;
    this.detail = detail;
  }
}

export type ApiClient = ReturnType<typeof createClient>;

export function createClient(baseUrl: string, fetchImpl: typeof fetch = (...args) => fetch(...args)) {
  async function send(method: "GET" | "POST", path: string, query?: object, body?: unknown): Promise<Response> {
    const url = `${baseUrl}${path}${toQueryString(query)}`;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "NetworkError", `Cannot reach the API at ${baseUrl}.`);
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  async function request<T>(method: "GET" | "POST", path: string, query?: object, body?: unknown): Promise<T> {
    return (await (await send(method, path, query, body)).json()) as T;
  }

  async function getRuns(query: RunsQuery = {}): Promise<RunsPage> {
    const response = await send("GET", "/api/runs", query);
    const runs = (await response.json()) as Run[];
    return { runs, nextCursor: response.headers.get("X-Next-Cursor") || null };
  }

  return {
    getInfo: () => request<Info>("GET", "/api/info"),
    getSummary: (query: SummaryQuery = {}) => request<Summary>("GET", "/api/metrics/summary", query),
    getRuns,
    getPipelines: () => request<Pipeline[]>("GET", "/api/pipelines"),
    /** A run's CI jobs; [] for a run that did not come from GitHub's webhook. */
    getRunJobs: (runId: number) => request<Job[]>("GET", `/api/runs/${encodeURIComponent(runId)}/jobs`),
    simulate: (query: SimulateQuery, body: SimulateRequest) =>
      request<SimulateResult>("POST", "/api/simulate", query, body),
  };
}

/** Empty and null values are left out: the API reads an absent filter as "any". */
function toQueryString(query?: object): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  if (isEnvelope(body)) {
    return new ApiError(response.status, body.error, envelopeMessage(body), body.detail);
  }
  return new ApiError(response.status, "HttpError", `HTTP ${response.status} ${response.statusText}`.trim());
}

function isEnvelope(body: unknown): body is ErrorEnvelope {
  return typeof body === "object" && body !== null && typeof (body as ErrorEnvelope).error === "string";
}

export function envelopeMessage(body: ErrorEnvelope): string {
  const { error, detail } = body;
  if (typeof detail === "string") return `${error}: ${detail}`;
  if (Array.isArray(detail)) {
    return `${error}: ${detail.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join("; ")}`;
  }
  return error;
}
