"""Drive the official, unmodified Tencent Cloud Python SDKs against a running VOD emulator.

Used by emulator/tests/it/python.rs; runnable by hand too:

    python sdk_flow.py upload --media video.mp4 [--cover cover.jpg] [--threads 4] [--fetch]
    python sdk_flow.py upload --media video.mp4 --expect-failure   # the upload must raise
    python sdk_flow.py commit-unknown-session
    python sdk_flow.py apply-media-type --media video.exe --media-type exe
    python sdk_flow.py events --media video.mp4 --source-context S --session-context C [--procedure P]
    python sdk_flow.py wire --bucket B    # COS as documented, every VOD API request form

The SDKs hard-code the cloud hosts, so this script redirects them the way
docs/protocol/vod-api.md §7.4 describes, by patching names in the
`qcloud_vod.vod_upload_client` namespace only:

* `vod_client.VodClient` -> a subclass that always uses
  `ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint="<host>:<port>"))`, so the
  VOD API calls (and their TC3 `host:` line) go to the emulator;
* `CosConfig` -> a factory adding `Scheme="http", IP=<host>, Port=<port>`, so COS requests go
  to the emulator while keeping `Host: <bucket>.cos.<region>.myqcloud.com`.

Environment (the emulator's documented `exec` variables): VOD_EMULATOR_ENDPOINT,
VOD_EMULATOR_HOST, VOD_EMULATOR_PORT, TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY,
VOD_EMULATOR_REGION, VOD_EMULATOR_APP_ID.

Output: exactly one JSON object on stdout. Exit status 0 when the scenario behaved as
expected (for the error scenarios: the SDK raised), 1 with a message on stderr otherwise.
"""

import argparse
import io
import json
import logging
import os
import sys
import threading
import time

import requests
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosClientError, CosServiceError
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models
from tencentcloud.vod.v20180717.vod_client import VodClient as UnpatchedVodClient

import qcloud_vod.vod_upload_client as upload_module
from qcloud_vod.model import VodUploadRequest
from qcloud_vod.vod_upload_client import VodUploadClient


class ScenarioFailed(Exception):
    """The SDK or the emulator did not behave as the scenario expects."""


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise ScenarioFailed(f"environment variable {name} is not set")
    return value


class Recorder:
    """Counts what the SDKs did, so the Rust side can assert on the traffic's shape."""

    def __init__(self):
        self.lock = threading.Lock()
        self.api_calls = []
        self.cos_calls = {}
        self.parts_in_flight = 0
        self.max_parts_in_flight = 0

    def api(self, action):
        with self.lock:
            self.api_calls.append(action)

    def cos(self, operation):
        with self.lock:
            self.cos_calls[operation] = self.cos_calls.get(operation, 0) + 1

    def part_started(self):
        with self.lock:
            self.parts_in_flight += 1
            self.max_parts_in_flight = max(self.max_parts_in_flight, self.parts_in_flight)

    def part_finished(self):
        with self.lock:
            self.parts_in_flight -= 1


RECORDER = Recorder()


def patch_sdks():
    """Point both SDKs at the emulator (docs/protocol/vod-api.md §7.4) and record their calls."""
    host = env("VOD_EMULATOR_HOST")
    port = int(env("VOD_EMULATOR_PORT"))
    vod_base = upload_module.vod_client.VodClient
    cos_config = upload_module.CosConfig

    class EmulatorVodClient(vod_base):
        def __init__(self, credential, region, profile=None):
            profile = ClientProfile(
                httpProfile=HttpProfile(protocol="http", endpoint=f"{host}:{port}")
            )
            super().__init__(credential, region, profile)

        def ApplyUpload(self, request):
            RECORDER.api("ApplyUpload")
            return super().ApplyUpload(request)

        def CommitUpload(self, request):
            RECORDER.api("CommitUpload")
            return super().CommitUpload(request)

        def ParseStreamingManifest(self, request):
            RECORDER.api("ParseStreamingManifest")
            return super().ParseStreamingManifest(request)

    def emulator_cos_config(**kwargs):
        return cos_config(Scheme="http", IP=host, Port=port, **kwargs)

    # `vod_client` is the shared module object tencentcloud.vod.v20180717.vod_client, so this
    # patches it for the whole (short-lived) process, which is what we want.
    upload_module.vod_client.VodClient = EmulatorVodClient
    upload_module.CosConfig = emulator_cos_config

    def counted(name, method):
        def wrapper(self, *args, **kwargs):
            RECORDER.cos(name)
            return method(self, *args, **kwargs)

        return wrapper

    for name in ("put_object", "create_multipart_upload", "complete_multipart_upload"):
        setattr(CosS3Client, name, counted(name, getattr(CosS3Client, name)))

    upload_part = CosS3Client.upload_part

    def tracked_upload_part(self, *args, **kwargs):
        RECORDER.cos("upload_part")
        RECORDER.part_started()
        try:
            return upload_part(self, *args, **kwargs)
        finally:
            RECORDER.part_finished()

    CosS3Client.upload_part = tracked_upload_part
    return EmulatorVodClient


def api_client():
    """A tencentcloud VodClient aimed at the emulator (the class is patched by patch_sdks)."""
    cred = credential.Credential(env("TENCENTCLOUD_SECRET_ID"), env("TENCENTCLOUD_SECRET_KEY"))
    return upload_module.vod_client.VodClient(cred, env("VOD_EMULATOR_REGION"))


def fetch(url, expected_path):
    """GET `url` with requests (no proxies from the environment) and compare with a file."""
    with open(expected_path, "rb") as f:
        expected = f.read()
    session = requests.Session()
    session.trust_env = False
    response = session.get(url, timeout=60)
    body = response.content
    return {
        "Status": response.status_code,
        "Length": len(body),
        "ETag": response.headers.get("ETag"),
        "BytesMatch": response.status_code == 200 and body == expected,
    }


def error_json(err):
    return {
        "Code": err.get_code(),
        "Message": err.get_message(),
        "RequestId": err.get_request_id(),
    }


def scenario_upload(args):
    request = VodUploadRequest()
    request.MediaFilePath = args.media
    if args.cover:
        request.CoverFilePath = args.cover
    if args.threads is not None:
        request.ConcurrentUploadNumber = args.threads
    client = VodUploadClient(env("TENCENTCLOUD_SECRET_ID"), env("TENCENTCLOUD_SECRET_KEY"))
    if args.expect_failure:
        return expect_upload_failure(lambda: client.upload(env("VOD_EMULATOR_REGION"), request))
    started = time.perf_counter()
    try:
        response = client.upload(env("VOD_EMULATOR_REGION"), request)
    except TencentCloudSDKException as err:
        raise ScenarioFailed(f"upload raised {err}") from err
    elapsed = time.perf_counter() - started
    result = {
        "UploadSeconds": elapsed,
        "FileId": response.FileId,
        "MediaUrl": response.MediaUrl,
        "CoverUrl": response.CoverUrl,
        "RequestId": response.RequestId,
        "ApiCalls": RECORDER.api_calls,
        "CosCalls": RECORDER.cos_calls,
        "MaxConcurrentUploadParts": RECORDER.max_parts_in_flight,
    }
    if args.fetch:
        if not response.MediaUrl:
            raise ScenarioFailed(f"CommitUpload returned no MediaUrl: {result}")
        result["MediaFetch"] = fetch(response.MediaUrl, args.media)
        if args.cover:
            if not response.CoverUrl:
                raise ScenarioFailed(f"CommitUpload returned no CoverUrl: {result}")
            result["CoverFetch"] = fetch(response.CoverUrl, args.cover)
        fetches = [k for k in ("MediaFetch", "CoverFetch") if k in result]
        mismatched = [k for k in fetches if not result[k]["BytesMatch"]]
        if mismatched:
            print(json.dumps(result), file=sys.stderr)
            raise ScenarioFailed(f"downloaded bytes differ from the uploaded file: {mismatched}")
    return result


def expect_sdk_error(call):
    """Run `call`, which must raise TencentCloudSDKException; return its fields."""
    try:
        response = call()
    except TencentCloudSDKException as err:
        return {"Error": error_json(err), "ApiCalls": RECORDER.api_calls}
    raise ScenarioFailed(
        f"expected TencentCloudSDKException, call returned {response.to_json_string()}"
    )


def expect_upload_failure(call):
    """Run an upload that must fail; return what the SDK raised and the calls made."""
    try:
        response = call()
    except CosServiceError as err:
        error = {
            "Class": "CosServiceError",
            "Code": err.get_error_code(),
            "Status": err.get_status_code(),
            "RequestId": err.get_request_id(),
        }
    except CosClientError as err:
        error = {"Class": "CosClientError", "Message": str(err)}
    except TencentCloudSDKException as err:
        error = dict(error_json(err), Class="TencentCloudSDKException")
    else:
        raise ScenarioFailed(f"expected the upload to fail, it returned {response.to_json_string()}")
    return {"Error": error, "ApiCalls": RECORDER.api_calls, "CosCalls": RECORDER.cos_calls}


def scenario_commit_unknown_session(args):
    request = models.CommitUploadRequest()
    request.VodSessionKey = args.session_key
    return expect_sdk_error(lambda: api_client().CommitUpload(request))


def scenario_apply_media_type(args):
    # Through the upload client, so this also shows it re-raises (no silent retry) an API error
    # that carries a RequestId.
    request = VodUploadRequest()
    request.MediaFilePath = args.media
    request.MediaType = args.media_type
    client = VodUploadClient(env("TENCENTCLOUD_SECRET_ID"), env("TENCENTCLOUD_SECRET_KEY"))
    return expect_sdk_error(lambda: client.upload(env("VOD_EMULATOR_REGION"), request))


def as_json(model):
    return json.loads(model.to_json_string())


def missing_keys(raw, model_class):
    """The fields of the SDK model `model_class` that the raw JSON object `raw` lacks."""
    return sorted(name[1:] for name in vars(model_class()) if name[1:] not in raw)


def sdk_error_code(call):
    """The code of the TencentCloudSDKException `call` raises, or None if it succeeds."""
    try:
        call()
    except TencentCloudSDKException as err:
        return err.get_code()
    return None


def scenario_events(args):
    """Upload with contexts (and a Procedure), then pull, confirm, describe and delete with
    tencentcloud-sdk-python-vod's own models."""
    request = VodUploadRequest()
    request.MediaFilePath = args.media
    request.SourceContext = args.source_context
    request.SessionContext = args.session_context
    if args.procedure:
        request.Procedure = args.procedure
    client = VodUploadClient(env("TENCENTCLOUD_SECRET_ID"), env("TENCENTCLOUD_SECRET_KEY"))
    try:
        uploaded = client.upload(env("VOD_EMULATOR_REGION"), request)
    except TencentCloudSDKException as err:
        raise ScenarioFailed(f"upload raised {err}") from err
    api = api_client()
    # Raw JSON, so fields the service sends as null/[]/0 can be told from absent ones; then the
    # SDK's own models, the way an application reads them.
    pulled_raw = api.call_json("PullEvents", {})["Response"]
    events = pulled_raw["EventSet"]
    pulled = models.PullEventsResponse()
    pulled._deserialize(pulled_raw)
    missing = {}
    for event in events:
        missing[f"EventContent({event['EventType']})"] = missing_keys(event, models.EventContent)
        upload = event.get("FileUploadEvent")
        if upload:
            source = upload["MediaBasicInfo"]["SourceInfo"]
            missing["MediaSourceData"] = missing_keys(source, models.MediaSourceData)
        task = event.get("ProcedureStateChangeEvent")
        if task:
            missing["ProcedureTask"] = missing_keys(task, models.ProcedureTask)
            for result in task["MediaProcessResultSet"]:
                missing[f"MediaProcessTaskResult({result['Type']})"] = missing_keys(
                    result, models.MediaProcessTaskResult
                )
    for event in pulled.EventSet:
        task = event.ProcedureStateChangeEvent
        if task is not None:
            try:
                for result_set in (
                    task.AiAnalysisResultSet,
                    task.AiRecognitionResultSet,
                    task.AiContentReviewResultSet,
                ):
                    for _ in result_set:
                        pass
            except TypeError as err:
                raise ScenarioFailed(f"an Ai*ResultSet cannot be iterated: {err}") from err
    confirm = models.ConfirmEventsRequest()
    confirm.EventHandles = [e["EventHandle"] for e in events]
    api.ConfirmEvents(confirm)
    empty_code = sdk_error_code(lambda: api.PullEvents(models.PullEventsRequest()))
    described = api.call_json("DescribeMediaInfos", {"FileIds": [uploaded.FileId, "1"]})[
        "Response"
    ]
    for info in described["MediaInfoSet"]:
        missing["MediaInfo"] = missing_keys(info, models.MediaInfo)
    describe = models.DescribeMediaInfosRequest()
    describe.FileIds = [uploaded.FileId, "1"]
    delete = models.DeleteMediaRequest()
    delete.FileId = uploaded.FileId
    api.DeleteMedia(delete)
    after = as_json(api.DescribeMediaInfos(describe))
    delete_again_code = sdk_error_code(lambda: api.DeleteMedia(delete))
    session = requests.Session()
    session.trust_env = False
    return {
        "FileId": uploaded.FileId,
        "MediaUrl": uploaded.MediaUrl,
        "Events": events,
        "EmptyPullCode": empty_code,
        "Described": described,
        "DescribedAfterDelete": after,
        "MissingKeys": {name: keys for name, keys in missing.items() if keys},
        "DeleteAgainCode": delete_again_code,
        "MediaStatusAfterDelete": session.get(uploaded.MediaUrl, timeout=60).status_code,
    }


def scenario_wire(args):
    """What SDK users write against COS and the VOD API, as the SDK documentation shows it:
    `put_object(...)['ETag']`, multipart from a buffer, the trace id of a HEAD 404, and the VOD
    API called by GET and in the legacy HmacSHA1/HmacSHA256 form on an explicit endpoint."""
    host = env("VOD_EMULATOR_HOST")
    port = int(env("VOD_EMULATOR_PORT"))
    region = env("VOD_EMULATOR_REGION")
    secret_id = env("TENCENTCLOUD_SECRET_ID")
    secret_key = env("TENCENTCLOUD_SECRET_KEY")
    cos = CosS3Client(
        CosConfig(
            Region=region,
            SecretId=secret_id,
            SecretKey=secret_key,
            Scheme="http",
            IP=host,
            Port=port,
        )
    )
    result = {}
    try:
        put = cos.put_object(Bucket=args.bucket, Key="sdk/put.bin", Body=b"hello, cos")
        result["PutETag"] = put["ETag"]
        buffered = cos.upload_file_from_buffer(
            Bucket=args.bucket,
            Key="sdk/buffer.bin",
            Body=io.BytesIO(bytes(range(256)) * (3 * 4096 + 7)),
            PartSize=1,
            MAXThread=2,
        )
        result["BufferETag"] = buffered["ETag"]
    except KeyError as err:
        raise ScenarioFailed(f"a documented response key is missing: {err!r}") from err
    try:
        cos.head_object(Bucket=args.bucket, Key="sdk/missing.bin")
        raise ScenarioFailed("head_object of a missing key succeeded")
    except CosServiceError as err:
        try:
            trace_id = err.get_trace_id()
        except KeyError as missing:
            raise ScenarioFailed(f"HEAD 404 error without a trace id: {missing!r}") from missing
        result["HeadMissing"] = {
            "Status": err.get_status_code(),
            "Code": err.get_error_code(),
            "RequestId": err.get_request_id(),
            "TraceId": trace_id,
        }
    forms = {
        "Tc3Get": ("TC3-HMAC-SHA256", "GET"),
        "HmacSHA256Post": ("HmacSHA256", "POST"),
        "HmacSHA1Get": ("HmacSHA1", "GET"),
    }
    cred = credential.Credential(secret_id, secret_key)
    for name, (sign_method, method) in forms.items():
        profile = ClientProfile(
            signMethod=sign_method,
            httpProfile=HttpProfile(protocol="http", endpoint=f"{host}:{port}", reqMethod=method),
        )
        client = UnpatchedVodClient(cred, region, profile)
        request = models.DescribeMediaInfosRequest()
        request.FileIds = ["1", "2"]
        try:
            answer = as_json(client.DescribeMediaInfos(request))
        except TencentCloudSDKException as err:
            raise ScenarioFailed(f"{name}: DescribeMediaInfos raised {err}") from err
        result[name] = answer
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="scenario", required=True)

    upload = sub.add_parser("upload", help="VodUploadClient.upload: ApplyUpload, COS, CommitUpload")
    upload.add_argument("--media", required=True, help="media file; its extension is the MediaType")
    upload.add_argument("--cover", help="cover file; its extension is the CoverType")
    upload.add_argument("--threads", type=int, help="ConcurrentUploadNumber (COS MAXThread)")
    upload.add_argument(
        "--fetch", action="store_true", help="GET MediaUrl/CoverUrl and compare bytes"
    )
    upload.add_argument(
        "--expect-failure", action="store_true", help="the upload must raise; report the error"
    )
    upload.set_defaults(run=scenario_upload)

    commit = sub.add_parser("commit-unknown-session", help="CommitUpload must raise")
    commit.add_argument("--session-key", default="no-such-session-key")
    commit.set_defaults(run=scenario_commit_unknown_session)

    apply = sub.add_parser("apply-media-type", help="ApplyUpload via VodUploadClient must raise")
    apply.add_argument("--media", required=True)
    apply.add_argument("--media-type", required=True)
    apply.set_defaults(run=scenario_apply_media_type)
    events = sub.add_parser("events", help="upload, PullEvents, ConfirmEvents, describe, delete")
    events.add_argument("--media", required=True)
    events.add_argument("--source-context", default="")
    events.add_argument("--session-context", default="")
    events.add_argument("--procedure")
    events.set_defaults(run=scenario_events)
    wire = sub.add_parser("wire", help="COS as documented, every VOD API request form")
    wire.add_argument("--bucket", required=True)
    wire.set_defaults(run=scenario_wire)
    return parser.parse_args(argv)


def main(argv):
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("SDK_FLOW_LOG_LEVEL", "WARNING"))
    args = parse_args(argv)
    try:
        patch_sdks()
        result = args.run(args)
    except ScenarioFailed as err:
        print(f"sdk_flow.py {args.scenario}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
