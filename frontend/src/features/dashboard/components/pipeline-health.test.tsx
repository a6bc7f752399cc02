import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { NOW, makePipelineSummary, makeSummary } from "../../../test/fixtures";
import { PipelineHealth } from "./pipeline-health";

it("shows each pipeline's health, with streak and since when failing", () => {
  render(<PipelineHealth pipelines={makeSummary().per_pipeline} now={NOW} selected="" onSelect={vi.fn()} />);
  const api = screen.getByRole("heading", { name: "api" }).closest("li")!;
  expect(within(api).getByText("failing")).toBeInTheDocument();
  expect(within(api).getByText("3 h ago")).toBeInTheDocument();
  expect(within(api).getByText("Failure streak").nextElementSibling).toHaveTextContent("3");
  expect(within(api).getByText("50.0%")).toBeInTheDocument();
  const web = screen.getByRole("heading", { name: "web" }).closest("li")!;
  expect(within(web).getByText("passing")).toBeInTheDocument();
  expect(within(web).queryByText("Failure streak")).toBeNull();
  expect(within(web).getByText("2m 30s")).toBeInTheDocument();
});

it("lists failing pipelines first, each group in the API's name order", () => {
  const failingHealth = makeSummary().per_pipeline.find((p) => p.pipeline === "api")!.health;
  const passing = (name: string) => makePipelineSummary({ pipeline: name });
  const failing = (name: string) => makePipelineSummary({ pipeline: name, health: failingHealth });
  render(
    <PipelineHealth pipelines={[passing("a"), failing("b"), passing("c"), failing("d")]} now={NOW} selected="" onSelect={vi.fn()} />,
  );
  const names = screen.getAllByRole("heading", { level: 3 }).map((h) => h.textContent);
  expect(names).toEqual(["b", "d", "a", "c"]);
});

it("narrows the dashboard to a pipeline with its name, a toggle button", () => {
  const onSelect = vi.fn();
  render(<PipelineHealth pipelines={makeSummary().per_pipeline} now={NOW} selected="" onSelect={onSelect} />);
  expect(screen.getByText("Pick one to see only its runs.")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "All pipelines" })).toBeNull();
  const api = screen.getByRole("button", { name: "api" });
  expect(api).toHaveAttribute("aria-pressed", "false");
  fireEvent.click(api);
  expect(onSelect).toHaveBeenCalledWith("api");
});

it("marks the chosen pipeline and offers the way back to all of them", () => {
  const onSelect = vi.fn();
  const web = makeSummary().per_pipeline.filter((p) => p.pipeline === "web");
  render(<PipelineHealth pipelines={web} now={NOW} selected="web" onSelect={onSelect} />);
  const name = screen.getByRole("button", { name: "web" });
  expect(name).toHaveAttribute("aria-pressed", "true");
  fireEvent.click(name);
  expect(onSelect).toHaveBeenLastCalledWith("");
  fireEvent.click(screen.getByRole("button", { name: "All pipelines" }));
  expect(onSelect).toHaveBeenCalledTimes(2);
  expect(onSelect).toHaveBeenLastCalledWith("");
});

it("says when the chosen pipeline did not run in the window", () => {
  render(<PipelineHealth pipelines={[]} now={NOW} selected="docs" onSelect={vi.fn()} />);
  expect(screen.getByText("docs did not run in this window.")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "All pipelines" })).toBeInTheDocument();
});

it("links a pipeline to its workflow page in the CI, only when it has one, apart from its filter", () => {
  const onSelect = vi.fn();
  const github = makePipelineSummary({ pipeline: "acme/web/CI" });
  const urls = new Map([["acme/web/CI", "https://github.com/acme/web/actions/workflows/ci.yml"]]);
  render(<PipelineHealth pipelines={[github, makePipelineSummary()]} urls={urls} now={NOW} selected="" onSelect={onSelect} />);

  const item = screen.getByRole("heading", { name: "acme/web/CI" }).closest("li")!;
  const link = within(item).getByRole("link", { name: "acme/web/CI workflow (opens in a new tab)" });
  expect(link).toHaveAttribute("href", "https://github.com/acme/web/actions/workflows/ci.yml");
  expect(link).toHaveAttribute("target", "_blank");
  expect(link.getAttribute("rel")).toContain("noopener");
  expect(link).toHaveTextContent("workflow ↗");

  const web = screen.getByRole("heading", { name: "web" }).closest("li")!;
  expect(within(web).queryByRole("link")).toBeNull();

  fireEvent.click(within(item).getByRole("button", { name: "acme/web/CI" }));
  expect(onSelect).toHaveBeenCalledWith("acme/web/CI");
});

describe("the last alert", () => {
  it("says what it was and whether the mail went out", () => {
    const alerts = new Map([
      [
        "web",
        {
          id: 7,
          kind: "failing" as const,
          branch: "main",
          state: "sent" as const,
          created_at: "2026-01-10T11:50:00Z",
          sent_at: "2026-01-10T11:50:01Z",
        },
      ],
    ]);
    render(
      <PipelineHealth
        pipelines={[makePipelineSummary({ pipeline: "web" })]}
        now={Date.parse("2026-01-10T12:00:00Z")}
        alerts={alerts}
        selected=""
        onSelect={() => {}}
      />,
    );
    expect(screen.getByText("Last alert")).toBeInTheDocument();
    expect(screen.getByText(/failing on main, mailed/)).toBeInTheDocument();
  });
});
