// Sends PUTs that the emulator refuses before reading their bodies, with Node's own `http`
// (what cos-nodejs-sdk-v5 sends through), writing the whole body before reading as Node does,
// and reports how many refusals reached the client as a status and an XML error.
//
//   node refusals.js <port> <host header> <path> <sizes, comma-separated> <repeats> <expect: 0|1> [authorization]
//
// Output: one JSON object {"delivered": n, "lost": [{size, error}], "statuses": {...}}.
'use strict';
const http = require('http');

const [port, hostHeader, path, sizesArg, repeatsArg, expectArg, authorization] = process.argv.slice(2);
const sizes = sizesArg.split(',').map(Number);
const repeats = Number(repeatsArg);
const expect = expectArg === '1';
const chunk = Buffer.alloc(64 * 1024, 7);

function put(size) {
  return new Promise((resolve) => {
    const headers = { Host: hostHeader, 'Content-Length': size };
    if (expect) headers.Expect = '100-continue';
    if (authorization) headers.Authorization = authorization;
    const req = http.request({ host: '127.0.0.1', port: Number(port), method: 'PUT', path, headers, agent: false });
    let settled = false;
    const done = (outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => done({ status: res.statusCode, body: Buffer.concat(parts).toString() }));
      res.on('error', (err) => done({ error: err.code || String(err) }));
    });
    req.on('error', (err) => done({ error: err.code || String(err) }));
    const writeBody = () => {
      let left = size;
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            req.once('drain', more);
            return;
          }
        }
        req.end();
      };
      more();
    };
    if (expect && size > 0) {
      req.on('continue', writeBody);
      req.flushHeaders();
    } else {
      writeBody();
    }
  });
}

(async () => {
  const report = { delivered: 0, lost: [], statuses: {} };
  for (const size of sizes) {
    for (let i = 0; i < repeats; i += 1) {
      const outcome = await put(size);
      if (outcome.error) {
        report.lost.push({ size, error: outcome.error });
      } else if (outcome.body.includes('<Code>')) {
        report.delivered += 1;
        report.statuses[outcome.status] = (report.statuses[outcome.status] || 0) + 1;
      } else {
        report.lost.push({ size, error: `status ${outcome.status} without an XML error: ${outcome.body.slice(0, 200)}` });
      }
    }
  }
  process.stdout.write(JSON.stringify(report));
})();
