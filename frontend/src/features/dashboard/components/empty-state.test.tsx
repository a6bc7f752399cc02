import { fireEvent, render, screen } from "@testing-library/react";
import { expect, it, vi } from "vitest";
import { EmptyState } from "./empty-state";

it("copies the curl line for a first run", async () => {
  const writeText = vi.fn(() => Promise.resolve());
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
  render(<EmptyState apiUrl="http://127.0.0.1:9000" demo={false} onSimulate={() => Promise.resolve()} />);
  expect(screen.getByLabelText("Example curl command")).toHaveTextContent("http://127.0.0.1:9000/api/events/run");
  fireEvent.click(screen.getByRole("button", { name: "Copy" }));
  expect(await screen.findByRole("button", { name: "Copied" })).toBeInTheDocument();
  expect(writeText).toHaveBeenCalledWith(expect.stringContaining("curl -X POST http://127.0.0.1:9000/api/events/run"));
  expect(screen.queryByRole("button", { name: /Simulate/ })).not.toBeInTheDocument();
});
