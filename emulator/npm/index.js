// The npm package's API: start a vod-emulator (the binary packaged in bin/, built from the
// Rust crate) on a free loopback port and hand back its endpoint and the environment
// `vod-emulator exec` would give a command, as the emulator itself reports it
// (GET /_emulator/env).

"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const READY = "vod-emulator ready on ";
const BINARY = path.join(__dirname, "bin", "vod-emulator");

/**
 * Starts an emulator.
 * @param {object} [options]
 * @param {string} [options.binary] the vod-emulator to run (default: the packaged one)
 * @param {string} [options.dataDir] keep its state there (default: temporary)
 * @param {string[]} [options.args] more flags, e.g. ["--strict"]
 * @param {number} [options.timeoutMs] how long it may take to start (default 30000)
 * @param {boolean} [options.detached] keep it running after this process exits (the caller
 *   stops it by `pid`); otherwise it is stopped when this process exits
 * @returns {Promise<{endpoint: string, env: Object<string, string>, pid: number, admin: Function, stop: Function}>}
 */
async function start(options = {}) {
  const binary = options.binary || BINARY;
  const args = ["--port", "0"];
  if (options.dataDir) args.push("--data-dir", options.dataDir);
  args.push(...(options.args || []));
  const logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "vod-emulator-")), "stderr.log");
  const log = fs.openSync(logPath, "w");
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", log], detached: Boolean(options.detached) });
  fs.closeSync(log);
  let endpoint;
  try {
    endpoint = await ready(child, options.timeoutMs || 30000);
  } catch (err) {
    child.kill("SIGKILL");
    const said = fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8").trim() : "";
    throw new Error(`vod-emulator could not start (${binary} ${args.join(" ")}): ${err.message}\n${said}`);
  }
  // The emulator must not keep the test runner alive, nor (unless detached) outlive it. It
  // writes nothing after its ready line.
  child.unref();
  child.stdout.destroy();
  const stopAtExit = () => child.kill("SIGTERM");
  if (!options.detached) process.on("exit", stopAtExit);
  const admin = (method, route, body) => call(endpoint, method, `/_emulator/${route}`, body);
  const { env } = await admin("GET", "env");
  return {
    endpoint,
    env,
    pid: child.pid,
    admin,
    stop() {
      process.removeListener("exit", stopAtExit);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGTERM");
      });
    },
  };
}

/** The endpoint on the child's ready line; rejects if it exits, fails or times out first. */
function ready(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms`)), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`it exited (${signal || `status ${code}`})`));
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      const line = seen.split("\n").find((l) => l.startsWith(READY));
      if (line) {
        clearTimeout(timer);
        seen = "";
        resolve(line.slice(READY.length).trim());
      }
    });
  });
}

/** One admin call, straight to the emulator (Node's http ignores proxy variables). */
function call(endpoint, method, route, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const request = http.request(`${endpoint}${route}`, { method }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        if (response.statusCode >= 400) {
          reject(new Error(`${method} ${route}: ${response.statusCode} ${text}`));
        } else {
          resolve(text ? JSON.parse(text) : null);
        }
      });
    });
    request.on("error", reject);
    request.end(data);
  });
}

module.exports = { start };
