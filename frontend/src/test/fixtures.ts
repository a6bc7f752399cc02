import type { ApiClient, Info, Job, JobStep, Pipeline, PipelineSummary, Run, RunsPage, Summary } from "../api/client";
import { vi } from "vitest";

export const NOW = Date.parse("2026-01-10T12:00:00Z");

export function makeRun(overrides: Partial<Run> = {}): Run {
  return {
    id: 1,
    pipeline: "web",
    status: "success",
    started_at: "2026-01-10T11:58:00Z",
    finished_at: "2026-01-10T11:59:05Z",
    duration_sec: 65,
    branch: "main",
    commit: "5184f9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6",
    triggered_by: "octocat",
    external_id: null,
    source: "api",
    url: null,
    attempt: null,
    conclusion: null,
    ...overrides,
  };
}

export function makePipelineSummary(overrides: Partial<PipelineSummary> = {}): PipelineSummary {
  return {
    pipeline: "web",
    total: 10,
    success: 8,
    failure: 2,
    running: 0,
    cancelled: 0,
    skipped: 0,
    success_rate: 0.8,
    avg_duration_sec: 81.2,
    p50_duration_sec: 70,
    p95_duration_sec: 150,
    last_status: "success",
    last_finished_at: "2026-01-10T11:50:00Z",
    health: {
      state: "passing",
      failure_streak: 0,
      failing_since: null,
      last_success_at: "2026-01-10T11:50:00Z",
      last_failure_at: "2026-01-10T10:00:00Z",
      mean_time_to_green_sec: 600,
    },
    ...overrides,
  };
}

export function makeSummary(overrides: Partial<Summary> = {}): Summary {
  return {
    window_minutes: 1440,
    as_of: "2026-01-10T12:00:00Z",
    total: 22,
    success: 17,
    failure: 5,
    running: 0,
    cancelled: 0,
    skipped: 0,
    success_rate: 0.7727,
    avg_duration_sec: 95.3,
    p50_duration_sec: 80,
    p95_duration_sec: 185,
    last_status: "failure",
    last_finished_at: "2026-01-10T11:57:00Z",
    per_pipeline: [
      makePipelineSummary(),
      makePipelineSummary({
        pipeline: "api",
        success_rate: 0.5,
        last_status: "failure",
        last_finished_at: "2026-01-10T11:57:00Z",
        health: {
          state: "failing",
          failure_streak: 3,
          failing_since: "2026-01-10T09:00:00Z",
          last_success_at: "2026-01-10T08:00:00Z",
          last_failure_at: "2026-01-10T11:57:00Z",
          mean_time_to_green_sec: null,
        },
      }),
    ],
    ...overrides,
  };
}

export const EMPTY_SUMMARY: Summary = makeSummary({
  total: 0,
  success: 0,
  failure: 0,
  success_rate: null,
  avg_duration_sec: null,
  p50_duration_sec: null,
  p95_duration_sec: null,
  last_status: null,
  last_finished_at: null,
  per_pipeline: [],
});

export function makeInfo(overrides: Partial<Info> = {}): Info {
  return {
    product: "Pipeline Pulse",
    version: "0.1.0",
    database: "embedded",
    database_version: "18.0",
    demo: false,
    environment: "local",
    api_url: "http://api.test",
    live: {
      listening: true,
      tick_ms: 250,
      clients: 0,
      subscriptions: 0,
      summaries_computed: 0,
      messages_offered: 0,
    },
    ...overrides,
  };
}

export function makePipeline(overrides: Partial<Pipeline> = {}): Pipeline {
  return {
    id: 1,
    name: "web",
    branches: ["main", "feature/x"],
    total_runs: 10,
    last_run_at: "2026-01-10T11:58:00Z",
    health: makePipelineSummary().health,
    ...overrides,
  };
}

export function makeStep(overrides: Partial<JobStep> = {}): JobStep {
  return {
    number: 1,
    name: "Set up job",
    status: "completed",
    conclusion: "success",
    started_at: "2026-01-10T11:58:10Z",
    completed_at: "2026-01-10T11:58:12Z",
    duration_sec: 2,
    ...overrides,
  };
}

/** A finished GitHub job: queued 12 s for a runner, then ran 50 s. */
export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 9001,
    name: "test",
    status: "completed",
    conclusion: "success",
    created_at: "2026-01-10T11:57:58Z",
    started_at: "2026-01-10T11:58:10Z",
    completed_at: "2026-01-10T11:59:00Z",
    queue_sec: 12,
    duration_sec: 50,
    runner_name: "linux-runner-1",
    runner_group: "Default",
    runner_labels: ["ubuntu-latest"],
    url: "https://github.com/acme/web/actions/runs/7001/job/9001",
    steps: [makeStep()],
    ...overrides,
  };
}

export function runsPage(runs: Run[], nextCursor: string | null = null): RunsPage {
  return { runs, nextCursor };
}

/** A client whose every call is a vi.fn resolving to sample data; override per test. */
export function fakeClient(overrides: Partial<ApiClient> = {}) {
  return {
    getInfo: vi.fn(async () => makeInfo()),
    getSummary: vi.fn(async () => makeSummary()),
    getRuns: vi.fn(async () => runsPage([makeRun()])),
    getPipelines: vi.fn(async () => [makePipeline()]),
    getRunJobs: vi.fn(async (_runId: number): Promise<Job[]> => []),
    simulate: vi.fn(async () => ({ created: 50, pipelines: ["web", "api", "worker", "docs"], source: "simulator" })),
    ...overrides,
  } satisfies ApiClient;
}

/** Stands in for the browser WebSocket: tests drive open, message and close by hand. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  url: string;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.instances.push(this);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.(new Event("open"));
  }
  send(message: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
  drop(code = 1006) {
    this.closed = true;
    this.onclose?.(new CloseEvent("close", { code }));
  }
  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error("no socket opened");
    return socket;
  }
}
