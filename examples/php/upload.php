<?php
// Upload a video to Tencent Cloud VOD with vod-php-sdk-v5 and print its FileId and MediaUrl.
//
// The same file runs against the real service and against vod-emulator; nothing in it names
// the emulator:
//
//     composer require tencentcloud/vod-sdk-v5
//     php upload.php video.mp4                        # Tencent Cloud
//     vod-emulator exec -- php upload.php video.mp4   # the emulator
//
// Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region: TENCENTCLOUD_REGION
// (default ap-guangzhou). Prints one JSON object.

require 'vendor/autoload.php';

use Vod\Model\VodUploadRequest;
use Vod\VodUploadClient;

$client = new VodUploadClient(getenv('TENCENTCLOUD_SECRET_ID'), getenv('TENCENTCLOUD_SECRET_KEY'));
$request = new VodUploadRequest();
$request->MediaFilePath = $argv[1];
$response = $client->upload(getenv('TENCENTCLOUD_REGION') ?: 'ap-guangzhou', $request);
echo json_encode(['FileId' => $response->FileId, 'MediaUrl' => $response->MediaUrl]), "\n";
