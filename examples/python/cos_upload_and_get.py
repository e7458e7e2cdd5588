#!/usr/bin/env python3
"""Upload a file to COS with cos-python-sdk-v5 (upload_file: one PUT, or a parallel multipart
upload above 1 MiB), read it back with get_object, and compare the bytes.

The same file runs against the real service and against vod-emulator; nothing in it names the
emulator:

    COS_BUCKET=examplebucket-1250000000 python cos_upload_and_get.py movie.mp4 videos/movie.mp4
    COS_BUCKET=vod-ap-guangzhou-1250000000 vod-emulator exec -- python cos_upload_and_get.py movie.mp4 videos/movie.mp4

Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region: TENCENTCLOUD_REGION
(default ap-guangzhou); bucket: COS_BUCKET. Prints one JSON object; exits 1 when the bytes
differ.
"""

import json
import os
import sys

from qcloud_cos import CosConfig, CosS3Client


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, key = argv
    config = CosConfig(
        Region=os.environ.get("TENCENTCLOUD_REGION", "ap-guangzhou"),
        SecretId=os.environ["TENCENTCLOUD_SECRET_ID"],
        SecretKey=os.environ["TENCENTCLOUD_SECRET_KEY"],
    )
    client = CosS3Client(config)
    bucket = os.environ["COS_BUCKET"]
    uploaded = client.upload_file(
        Bucket=bucket, Key=key, LocalFilePath=path, PartSize=1, MAXThread=4
    )
    response = client.get_object(Bucket=bucket, Key=key)
    body = response["Body"].get_raw_stream().read()
    with open(path, "rb") as f:
        expected = f.read()
    result = {
        "Key": key,
        "ETag": uploaded["ETag"],
        "Size": len(body),
        "BytesMatch": body == expected,
    }
    print(json.dumps(result))
    return 0 if result["BytesMatch"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
