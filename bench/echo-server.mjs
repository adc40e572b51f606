// The baseline of bench/server: a bare Hono app on @hono/node-server that parses the JSON body and
// echoes it back — the ceiling of any JSON-over-HTTP server on this machine and stack.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.post("/invocations", async (c) => c.json(await c.req.json()));
app.get("/ping", (c) => c.text("\n"));
const server = serve({ fetch: app.fetch, port: Number(process.argv[2] ?? 0), hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(JSON.stringify({ port: info.port }) + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
