// Starts a detached emulator and prints `{"pid": …, "env": {…}}` on stdout, then exits: lets
// register.js, which must finish before node:test spawns its first test file, start one
// synchronously (execFileSync) with the asynchronous start().

"use strict";

const { start } = require("./index.js");

start({ detached: true }).then(
  ({ pid, env }) => {
    process.stdout.write(JSON.stringify({ pid, env }));
  },
  (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
);
