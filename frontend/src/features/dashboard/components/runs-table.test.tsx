import { render, screen, within } from "@testing-library/react";
import { expect, it } from "vitest";
import { NOW, makeRun } from "../../../test/fixtures";
import { RunsTable } from "./runs-table";

const sha = "5184f9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";

it("lists runs with a status badge in words, a short commit and relative times", () => {
  render(
    <RunsTable
      runs={[
        makeRun({ id: 2, pipeline: "api", status: "failure", commit: "abcdef0123456", url: "https://ci.example/runs/2" }),
        makeRun({ id: 1, pipeline: "web", status: "success", commit: sha }),
      ]}
      now={NOW}
      branch=""
    />,
  );
  const table = screen.getByRole("table", { name: /latest 2 runs, newest first/i });
  const rows = within(table).getAllByRole("row").slice(1);
  expect(rows.map((row) => within(row).getByRole("rowheader").textContent)).toEqual(["api", "web"]);

  expect(within(rows[0]!).getByText("failure")).toBeInTheDocument();
  expect(within(rows[1]!).getByText("success")).toBeInTheDocument();

  const commit = within(rows[1]!).getByText("5184f9c");
  expect(commit).toHaveAttribute("title", sha);
  expect(within(rows[1]!).queryByRole("link")).toBeNull();

  const link = within(rows[0]!).getByRole("link");
  expect(link).toHaveAttribute("href", "https://ci.example/runs/2");
  expect(within(link).getByText("abcdef0")).toHaveAttribute("title", "abcdef0123456");

  expect(within(rows[1]!).getByText("1m 05s")).toBeInTheDocument();
  expect(within(rows[1]!).getByText("2 min ago")).toHaveAttribute("datetime", "2026-01-10T11:58:00Z");
  expect(within(rows[1]!).getByText("octocat")).toBeInTheDocument();
});

it("says when a branch has no runs", () => {
  render(<RunsTable runs={[]} now={NOW} branch="feature/x" />);
  expect(screen.getByText("No runs on branch feature/x yet.")).toBeInTheDocument();
});
