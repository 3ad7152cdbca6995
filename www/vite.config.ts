// The app is plain TypeScript bundled by Vite. vite-plugin-pwa (Workbox) writes the service
// worker that precaches the shell and the package's .wasm, so a reload while offline works,
// and the web app manifest.

import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

export default defineConfig({
  // The package fetches its .wasm next to its own JavaScript: leave it out of pre-bundling.
  optimizeDeps: { exclude: ["annals-inventory"] },
  server: {
    // `npm run dev` next to `cargo xtask run`: the API comes from the local server.
    proxy: { "/v1": "http://127.0.0.1:8080" },
    // The package is linked from ../examples/inventory-wasm/pkg.
    fs: { allow: [".."] },
  },
  build: { target: "es2022" },
  plugins: [
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: false,
      manifest: {
        name: "Cafeteria stock",
        short_name: "Stock",
        description: "Stock of the cafeteria's sites, kept on this device and shared when online.",
        start_url: "/",
        scope: "/",
        display: "standalone",
        background_color: "#f6f5f0",
        theme_color: "#2f5d50",
        icons: [
          { src: "icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
          { src: "icon-maskable.svg", sizes: "any", type: "image/svg+xml", purpose: "maskable" },
        ],
      },
      workbox: {
        globPatterns: ["**/*.{html,js,css,wasm,svg}"],
        navigateFallback: "index.html",
        // The API is never answered from the cache: it is the server's to answer, or to fail.
        navigateFallbackDenylist: [/^\/v1\//, /^\/healthz$/, /^\/metrics$/],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
});
