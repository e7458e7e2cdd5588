"""A user's pytest suite, run by emulator/tests/it/packages.rs against the vod-emulator wheel:
only the `vod_emulator` fixture, and application code using the official SDKs as it would
against Tencent Cloud (credentials and region from the environment, no endpoint named)."""

import os

import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_vod.model import VodUploadRequest
from qcloud_vod.vod_upload_client import VodUploadClient
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models, vod_client


def upload(path):
    """The application's upload: vod-python-sdk, configured from the environment."""
    request = VodUploadRequest()
    request.MediaFilePath = str(path)
    client = VodUploadClient(os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"])
    return client.upload(os.environ["TENCENTCLOUD_REGION"], request)


def vod():
    """The application's VOD API client: tencentcloud-sdk-python, configured from the environment."""
    return vod_client.VodClient(credential.EnvironmentVariableCredential().get_credential(), os.environ["TENCENTCLOUD_REGION"])


@pytest.fixture
def media(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def test_an_upload_reaches_the_emulator(vod_emulator, media):
    response = upload(media)
    assert response.FileId
    commits = vod_emulator.journal(action="CommitUpload", status=200)
    assert len(commits) == 1, commits


def test_a_fault_fails_the_next_upload(vod_emulator, media):
    vod_emulator.faults.add(
        {
            "match": {"service": "vod", "action": "CommitUpload"},
            "effect": {"type": "error", "code": "FailedOperation"},
            "schedule": {"first": 1},
        }
    )
    with pytest.raises(Exception, match="FailedOperation"):
        upload(media)
    assert upload(media).FileId


def test_the_upload_event_can_be_awaited(vod_emulator, media):
    file_id = upload(media).FileId
    event = vod_emulator.wait_event(type="NewFileUpload", fileId=file_id, timeout=10)
    assert event["content"]["FileUploadEvent"]["FileId"] == file_id


def test_an_advanced_clock_expires_the_session(vod_emulator):
    client = vod()
    apply = models.ApplyUploadRequest()
    apply.MediaType = "mp4"
    session = client.ApplyUpload(apply)
    keys = session.TempCertificate
    cos = CosS3Client(CosConfig(Region=session.StorageRegion, SecretId=keys.SecretId, SecretKey=keys.SecretKey, Token=keys.Token))
    cos.put_object(Bucket=session.StorageBucket, Key=session.MediaStoragePath, Body=b"media")
    vod_emulator.clock.advance(120)
    commit = models.CommitUploadRequest()
    commit.VodSessionKey = session.VodSessionKey
    with pytest.raises(TencentCloudSDKException) as refused:
        client.CommitUpload(commit)
    assert refused.value.code == "InvalidParameterValue.VodSessionKey", refused.value


def test_each_test_starts_from_a_reset_emulator(vod_emulator):
    assert vod_emulator.journal() == []
    assert vod_emulator.faults.list() == []


def test_the_environment_is_restored_after_a_test():
    assert os.environ.get("VOD_EMULATOR_ENDPOINT") is None
