#!/usr/bin/env python3
"""Upload a video with a cover to Tencent Cloud VOD, read its NewFileUpload event back, and
check that MediaUrl and CoverUrl serve exactly the uploaded bytes.

The same file runs against the real service and against vod-emulator; nothing in it names the
emulator:

    python upload_with_cover.py video.mp4 cover.jpg                       # Tencent Cloud
    vod-emulator exec -- python upload_with_cover.py video.mp4 cover.jpg  # the emulator

An HLS playlist works too (its segments, next to it, are uploaded and checked as well):

    vod-emulator exec -- python upload_with_cover.py hls/play.m3u8 cover.jpg

SDKs: vod-python-sdk (upload), tencentcloud-sdk-python-vod (PullEvents, ConfirmEvents),
requests (download). Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region:
TENCENTCLOUD_REGION (default ap-guangzhou). The VOD application must use reliable (PULL)
event notification. Prints one JSON object; exits 1 when anything differs.
"""

import json
import os
import posixpath
import sys

import requests
from qcloud_vod.model import VodUploadRequest
from qcloud_vod.vod_upload_client import VodUploadClient
from tencentcloud.common import credential
from tencentcloud.vod.v20180717 import models, vod_client

PULL_ATTEMPTS = 6


def upload(secret_id, secret_key, region, media, cover):
    request = VodUploadRequest()
    request.MediaFilePath = media
    request.CoverFilePath = cover
    return VodUploadClient(secret_id, secret_key).upload(region, request)


def pull_event(client, file_id):
    """PullEvents until the NewFileUpload of `file_id` arrives; confirm it."""
    for _ in range(PULL_ATTEMPTS):
        try:
            pulled = json.loads(client.PullEvents(models.PullEventsRequest()).to_json_string())
        except Exception as err:  # an empty queue is an error (ResourceNotFound): try again
            if "ResourceNotFound" in str(err):
                continue
            raise
        for event in pulled["EventSet"]:
            if (event.get("FileUploadEvent") or {}).get("FileId") == file_id:
                confirm = models.ConfirmEventsRequest()
                confirm.EventHandles = [event["EventHandle"]]
                client.ConfirmEvents(confirm)
                return event
    return None


def same_bytes(url, path):
    with open(path, "rb") as f:
        expected = f.read()
    response = requests.get(url, timeout=60)
    return response.status_code == 200 and response.content == expected


def playlist_segments(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    media, cover = argv
    secret_id = os.environ["TENCENTCLOUD_SECRET_ID"]
    secret_key = os.environ["TENCENTCLOUD_SECRET_KEY"]
    region = os.environ.get("TENCENTCLOUD_REGION", "ap-guangzhou")

    uploaded = upload(secret_id, secret_key, region, media, cover)
    client = vod_client.VodClient(credential.Credential(secret_id, secret_key), region)
    event = pull_event(client, uploaded.FileId)

    result = {
        "FileId": uploaded.FileId,
        "MediaUrl": uploaded.MediaUrl,
        "CoverUrl": uploaded.CoverUrl,
        "EventType": event and event["EventType"],
        "EventMediaUrl": event and event["FileUploadEvent"]["MediaBasicInfo"]["MediaUrl"],
        "MediaBytesMatch": same_bytes(uploaded.MediaUrl, media),
        "CoverBytesMatch": same_bytes(uploaded.CoverUrl, cover),
        "SegmentsMatch": {},
    }
    if media.endswith(".m3u8"):
        base = posixpath.dirname(uploaded.MediaUrl)
        for segment in playlist_segments(media):
            local = os.path.join(os.path.dirname(media), segment)
            result["SegmentsMatch"][segment] = same_bytes(f"{base}/{segment}", local)
    print(json.dumps(result))
    ok = (
        event is not None
        and result["MediaBytesMatch"]
        and result["CoverBytesMatch"]
        and all(result["SegmentsMatch"].values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
