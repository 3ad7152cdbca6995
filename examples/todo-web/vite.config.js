// The package fetches its .wasm next to its own JavaScript: leave it out of pre-bundling.
export default {
  optimizeDeps: { exclude: ["annals-todo"] },
  build: { target: "es2022" },
  server: { proxy: { "/v1": "http://127.0.0.1:8080" } },
};
