import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig({
  plugins: [svelte()],
  // Tauri serves the built files from disk: relative paths, no dev-server assumptions.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  // css: the palette test reads app.css as text.
  test: { include: ["src/**/*.test.ts"], css: true },
});
