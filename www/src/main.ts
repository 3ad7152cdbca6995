// Starts the app: the service worker that keeps it working offline, then the replica (kept in
// localStorage, synced with the annals-server that serves this page), then the screen.

import "./style.css";
import { open } from "annals-inventory";
import { registerSW } from "virtual:pwa-register";
import { App } from "./app";
import { handle, say } from "./dom";

registerSW({ immediate: true });

async function start() {
  const replica = await open({
    storage: "local",
    key: "annals/inventory",
    server: { url: location.origin },
  });
  new App(replica);
}

start().catch((error: unknown) => {
  say(handle("notice"), `The inventory could not open: ${error instanceof Error ? error.message : String(error)}`);
});
