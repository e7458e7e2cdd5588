// A ready-made global setup: starts one emulator for the test run and sets process.env as
// `vod-emulator exec` does (proxy, CA, credentials, VOD_EMULATOR_*), so test workers started
// afterwards send unmodified SDK calls to it. Jest: `globalSetup: "vod-emulator/setup"` (the
// emulator stops when Jest exits); Vitest: `globalSetup: ["vod-emulator/setup"]` (the returned
// teardown stops it and restores process.env); node:test: `--require vod-emulator/register`
// (register.js).
// The runners call it with their own arguments, which it ignores: the emulator takes its
// settings from its VOD_EMULATOR_* variables (VOD_EMULATOR_DATA_DIR, VOD_EMULATOR_STRICT, …).

"use strict";

const { start } = require("./index.js");

async function setup() {
  const emulator = await start();
  const before = {};
  for (const [name, value] of Object.entries(emulator.env)) {
    before[name] = process.env[name];
    process.env[name] = value;
  }
  return async function teardown() {
    await emulator.stop();
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

module.exports = setup;
module.exports.setup = setup;
