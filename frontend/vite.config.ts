import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// base "./": the built app is served from any path, with config.json beside index.html.
export default defineConfig({
  base: "./",
  plugins: [react()],
});
