// The floor of bench/server's 10,000-row timings: a bare node:http server that reads each request's
// body whole and answers fixed bytes, the JSON or the Arrow answer pipeserve gave to the same
// request (files named on the command line): what the client, HTTP and the loopback cost alone.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [jsonPath, arrowPath] = process.argv.slice(2);
const answers = { json: readFileSync(jsonPath), arrow: readFileSync(arrowPath) };
const server = createServer((req, res) => {
  req.on("data", () => undefined);
  req.on("end", () => {
    const arrow = (req.headers.accept ?? "").includes("arrow");
    res.writeHead(200, { "content-type": arrow ? "application/vnd.apache.arrow.stream" : "application/json" });
    res.end(arrow ? answers.arrow : answers.json);
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
