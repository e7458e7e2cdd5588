// A user's node:test suite, run by emulator/tests/it/packages.rs with the packed vod-emulator
// npm package's global setup (`node --require vod-emulator/register --test`): application code
// using the official SDKs as it would against Tencent Cloud (credentials and region from the
// environment, no endpoint named), and the admin API for a fault.

"use strict";

const assert = require("node:assert");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { test } = require("node:test");
const { VodUploadClient, VodUploadRequest } = require("vod-node-sdk");

/** The application's upload: vod-node-sdk, configured from the environment. */
function upload(media) {
  const request = new VodUploadRequest();
  request.MediaFilePath = media;
  const client = new VodUploadClient(process.env.TENCENTCLOUD_SECRET_ID, process.env.TENCENTCLOUD_SECRET_KEY);
  return new Promise((resolve, reject) =>
    client.upload(process.env.TENCENTCLOUD_REGION, request, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

/** One admin call to the emulator the global setup started. */
async function admin(method, route, body) {
  const response = await fetch(`${process.env.VOD_EMULATOR_ENDPOINT}/_emulator/${route}`, {
    method,
    body: body && JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${route}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

const media = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "vod-node-")), "clip.mp4");
fs.writeFileSync(media, Buffer.alloc(16384, 7));

test("an upload reaches the emulator", async () => {
  const { FileId } = await upload(media);
  assert.ok(FileId);
  const { requests } = await admin("GET", "requests?action=CommitUpload&status=200");
  assert.ok(requests.length >= 1);
});

test("a fault fails the next upload", async () => {
  await admin("POST", "faults", {
    match: { service: "vod", action: "CommitUpload" },
    effect: { type: "error", code: "FailedOperation" },
    schedule: { first: 1 },
  });
  await assert.rejects(upload(media), { code: "FailedOperation" });
  assert.ok((await upload(media)).FileId);
});
