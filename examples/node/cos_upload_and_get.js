#!/usr/bin/env node
// Upload a file to COS with cos-nodejs-sdk-v5 (uploadFile: one PUT, or a multipart upload
// above 1 MiB via sliceUploadFile), read it back with getObject, and compare the bytes.
//
// The same file runs against the real service and against vod-emulator; nothing in it names
// the emulator:
//
//     COS_BUCKET=examplebucket-1250000000 node cos_upload_and_get.js movie.mp4 videos/movie.mp4
//     COS_BUCKET=vod-ap-guangzhou-1250000000 vod-emulator exec -- node cos_upload_and_get.js movie.mp4 videos/movie.mp4
//
// Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region: TENCENTCLOUD_REGION
// (default ap-guangzhou); bucket: COS_BUCKET. Prints one JSON object; exits 1 when the bytes
// differ.

"use strict";

const fs = require("fs");
const COS = require("cos-nodejs-sdk-v5");

function call(cos, method, params) {
  return new Promise((resolve, reject) =>
    cos[method](params, (err, data) => (err ? reject(err) : resolve(data)))
  );
}

async function main(argv) {
  if (argv.length !== 2) {
    console.error("usage: cos_upload_and_get.js FILE KEY");
    return 2;
  }
  const [path, key] = argv;
  const cos = new COS({
    SecretId: process.env.TENCENTCLOUD_SECRET_ID,
    SecretKey: process.env.TENCENTCLOUD_SECRET_KEY,
  });
  const target = {
    Bucket: process.env.COS_BUCKET,
    Region: process.env.TENCENTCLOUD_REGION || "ap-guangzhou",
    Key: key,
  };
  const uploaded = await call(cos, "uploadFile", {
    ...target,
    FilePath: path,
    SliceSize: 1024 * 1024,
    ChunkSize: 1024 * 1024,
  });
  const got = await call(cos, "getObject", target);
  const body = got.Body;
  const result = {
    Key: key,
    ETag: uploaded.ETag,
    Size: body.length,
    BytesMatch: body.equals(fs.readFileSync(path)),
  };
  console.log(JSON.stringify(result));
  return result.BytesMatch ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  }
);
