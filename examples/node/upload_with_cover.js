#!/usr/bin/env node
// Upload a video with a cover to Tencent Cloud VOD, read its NewFileUpload event back, and
// check that MediaUrl and CoverUrl serve exactly the uploaded bytes.
//
// The same file runs against the real service and against vod-emulator; nothing in it names
// the emulator:
//
//     node upload_with_cover.js video.mp4 cover.jpg                       # Tencent Cloud
//     vod-emulator exec -- node upload_with_cover.js video.mp4 cover.jpg  # the emulator
//
// SDKs: vod-node-sdk (upload), tencentcloud-sdk-nodejs-vod (PullEvents, ConfirmEvents), Node's
// http/https (download). Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region:
// TENCENTCLOUD_REGION (default ap-guangzhou). The VOD application must use reliable (PULL)
// event notification. Prints one JSON object; exits 1 when anything differs.

"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const { VodUploadClient, VodUploadRequest } = require("vod-node-sdk");
const tencentcloud = require("tencentcloud-sdk-nodejs-vod");

const PULL_ATTEMPTS = 6;

function upload(secretId, secretKey, region, media, cover) {
  const request = new VodUploadRequest();
  request.MediaFilePath = media;
  request.CoverFilePath = cover;
  const client = new VodUploadClient(secretId, secretKey);
  return new Promise((resolve, reject) =>
    client.upload(region, request, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

async function pullEvent(client, fileId) {
  for (let i = 0; i < PULL_ATTEMPTS; i++) {
    let pulled;
    try {
      pulled = await client.PullEvents({});
    } catch (err) {
      // An empty queue is an error (ResourceNotFound): try again.
      if (err.code === "ResourceNotFound") continue;
      throw err;
    }
    for (const event of pulled.EventSet) {
      if (event.FileUploadEvent && event.FileUploadEvent.FileId === fileId) {
        await client.ConfirmEvents({ EventHandles: [event.EventHandle] });
        return event;
      }
    }
  }
  return null;
}

function download(url) {
  const get = url.startsWith("https:") ? https.get : http.get;
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

async function sameBytes(url, path) {
  const { status, body } = await download(url);
  return status === 200 && body.equals(fs.readFileSync(path));
}

async function main(argv) {
  if (argv.length !== 2) {
    console.error("usage: upload_with_cover.js VIDEO COVER");
    return 2;
  }
  const [media, cover] = argv;
  const secretId = process.env.TENCENTCLOUD_SECRET_ID;
  const secretKey = process.env.TENCENTCLOUD_SECRET_KEY;
  const region = process.env.TENCENTCLOUD_REGION || "ap-guangzhou";

  const uploaded = await upload(secretId, secretKey, region, media, cover);
  const client = new tencentcloud.vod.v20180717.Client({
    credential: { secretId, secretKey },
    region,
  });
  const event = await pullEvent(client, uploaded.FileId);
  const result = {
    FileId: uploaded.FileId,
    MediaUrl: uploaded.MediaUrl,
    CoverUrl: uploaded.CoverUrl,
    EventType: event && event.EventType,
    EventMediaUrl: event && event.FileUploadEvent.MediaBasicInfo.MediaUrl,
    MediaBytesMatch: await sameBytes(uploaded.MediaUrl, media),
    CoverBytesMatch: await sameBytes(uploaded.CoverUrl, cover),
  };
  console.log(JSON.stringify(result));
  return event && result.MediaBytesMatch && result.CoverBytesMatch ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  }
);
