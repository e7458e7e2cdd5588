// `npm pack`'s prepack step: builds vod-emulator from this checkout (`cargo build --release`,
// a no-op when it is up to date) and copies the binary cargo reports into bin/, so the package
// never holds a stale or debug build. CARGO_TARGET_DIR and `CARGO` are honoured.

"use strict";

const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const repo = path.resolve(__dirname, "../../..");
const cargo = process.env.CARGO || "cargo";
const output = execFileSync(
  cargo,
  ["build", "--release", "--locked", "-p", "vod-emulator", "--message-format=json-render-diagnostics"],
  { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 }
);
const executable = output
  .split("\n")
  .filter((line) => line.startsWith("{"))
  .map((line) => JSON.parse(line))
  .find((m) => m.reason === "compiler-artifact" && m.target.name === "vod-emulator" && m.executable)
  ?.executable;
if (!executable) {
  throw new Error("cargo built no vod-emulator executable");
}
const bin = path.join(__dirname, "..", "bin");
fs.mkdirSync(bin, { recursive: true });
const target = path.join(bin, "vod-emulator");
fs.copyFileSync(executable, target);
fs.chmodSync(target, 0o755);
console.error(`packaged ${executable}`);
