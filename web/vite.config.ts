// Vite builds the app into dist/ (served by the gateway at /); its dev server proxies the API to a running gateway.
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const gateway = process.env.AGENTBUS_GATEWAY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    // Every file under assets/ has a content hash in its name: the gateway caches them for a year.
    assetsDir: "assets",
    sourcemap: false,
  },
  server: {
    proxy: Object.fromEntries(
      ["/api", "/health", "/.well-known", "/docs", "/openapi.json"].map((path) => [path, gateway]),
    ),
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
