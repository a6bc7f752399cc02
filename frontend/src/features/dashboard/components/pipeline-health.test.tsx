import { render, screen, within } from "@testing-library/react";
import { expect, it } from "vitest";
import { NOW, makePipelineSummary, makeSummary } from "../../../test/fixtures";
import { PipelineHealth } from "./pipeline-health";

it("shows each pipeline's health, with streak and since when failing", () => {
  render(<PipelineHealth pipelines={makeSummary().per_pipeline} now={NOW} />);
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
    <PipelineHealth pipelines={[passing("a"), failing("b"), passing("c"), failing("d")]} now={NOW} />,
  );
  const names = screen.getAllByRole("heading", { level: 3 }).map((h) => h.textContent);
  expect(names).toEqual(["b", "d", "a", "c"]);
});
