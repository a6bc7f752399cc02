import { render, screen, within } from "@testing-library/react";
import { expect, it } from "vitest";
import { NOW, makeSummary } from "../../../test/fixtures";
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
