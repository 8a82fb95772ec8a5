// Vite builds the browser code into dist/, which Django serves under /static/viewer/.
// cornerstone3D needs Vite (not esbuild) for its web-worker and wasm codecs.
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/static/viewer/",
  build: {
    outDir: "dist",
    target: "es2022",
    manifest: true,
    emptyOutDir: true,
    rollupOptions: {
      input: { main: "src/main.ts", job: "src/job.ts", editor: "src/editor/main.ts", viewer: "src/viewer/main.ts" },
    },
  },
  worker: { format: "es" },
  optimizeDeps: {
    exclude: ["@cornerstonejs/dicom-image-loader"],
    include: ["dicom-parser"],
  },
  test: { include: ["src/**/*.test.ts"] },
});
