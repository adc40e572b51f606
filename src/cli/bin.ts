#!/usr/bin/env node
/** The `pipeserve` executable: `main` over the real process. */
import { processIo } from "./io.js";
import { main } from "./main.js";
import { stopWhenReaderLeaves } from "./closed-pipe.js";

stopWhenReaderLeaves(process.stdout, process.stderr);
const code = await main(process.argv.slice(2), processIo());
if (code !== 0) process.exitCode = code;
