// node:test's global setup: `node --require vod-emulator/register --test`. The runner process
// starts one emulator and sets process.env as `vod-emulator exec` does before it spawns the test
// files, which inherit it (NODE_EXTRA_CA_CERTS included, read as they start); the emulator stops
// when the runner exits. In the test files' own processes (NODE_TEST_CONTEXT set) it does
// nothing. A `--require` module must be synchronous, hence launch.js in a child process.

"use strict";

const { execFileSync } = require("child_process");
const path = require("path");

if (!process.env.NODE_TEST_CONTEXT) {
  let launched;
  try {
    launched = execFileSync(process.execPath, [path.join(__dirname, "launch.js")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    throw new Error(`vod-emulator/register: ${String(err.stderr || err.message).trim()}`);
  }
  const { pid, env } = JSON.parse(launched);
  Object.assign(process.env, env);
  process.on("exit", () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  });
}
