<?php
// The transport of the official PHP SDKs, reproduced from their source with Debian's Guzzle
// (php-guzzlehttp-guzzle 7.4): Composer and Packagist are not reachable from the tests, the
// SDK packages are, in effect, these Guzzle clients plus their signers.
//
// - tencentcloud-sdk-php >= 3.0.1201, src/TencentCloud/Common/Http/HttpConnection.php
//   (getOptions: allow_redirects => false, timeout, proxy => HttpProfile::getProxy() = null,
//   stream => HttpProfile::getStream() = true; postRequestRaw: body) and
//   src/TencentCloud/Common/AbstractClient.php (doRequestWithTC3: the X-TC-* headers,
//   content-type;host signed with TC3-HMAC-SHA256) and Sign.php (signTC3).
// - cos-php-sdk-v5 2.x, src/Qcloud/Cos/Client.php (schema 'http', proxy => null by default,
//   Guzzle's default handler stack) and src/Qcloud/Cos/Signature.php (createAuthorization:
//   q-sign-algorithm=sha1, key time now-60..now+expires, x-cos-security-token added).
// - vod-php-sdk-v5 2.4.x, src/Vod/VodUploadClient.php (upload: ApplyUpload, the COS upload with
//   the TempCertificate, CommitUpload).
//
// Nothing here names the emulator: credentials come from TENCENTCLOUD_SECRET_ID/_KEY, the
// endpoints are the cloud's. Prints one JSON object.
//
//   php sdk_transport.php upload FILE            ApplyUpload -> COS PUT -> CommitUpload
//   php sdk_transport.php contain TLS_PORT       what a non-emulated destination gets

require '/usr/share/php/GuzzleHttp/autoload.php';

use GuzzleHttp\Client;
use GuzzleHttp\TransferStats;

const VOD_HOST = 'vod.tencentcloudapi.com';

/** The options HttpConnection::getOptions() gives every call. */
function tc_options()
{
    return ['allow_redirects' => false, 'timeout' => 60, 'proxy' => null, 'stream' => true];
}

/** hash_hmac chain of Sign::signTC3. */
function sign_tc3($secret_key, $date, $service, $string_to_sign)
{
    $k_date = hash_hmac('SHA256', $date, 'TC3' . $secret_key, true);
    $k_service = hash_hmac('SHA256', $service, $k_date, true);
    $k_signing = hash_hmac('SHA256', 'tc3_request', $k_service, true);
    return hash_hmac('SHA256', $string_to_sign, $k_signing);
}

/** One VOD API call as AbstractClient::doRequestWithTC3 makes it; returns [Response, handler]. */
function vod_call($action, $params, &$handler)
{
    $sid = getenv('TENCENTCLOUD_SECRET_ID');
    $skey = getenv('TENCENTCLOUD_SECRET_KEY');
    $region = getenv('TENCENTCLOUD_REGION') ?: 'ap-guangzhou';
    $payload = json_encode((object) $params);
    $timestamp = time();
    $headers = [
        'Host' => VOD_HOST,
        'X-TC-Action' => $action,
        'X-TC-RequestClient' => 'SDK_PHP_3.0.1201',
        'X-TC-Timestamp' => $timestamp,
        'X-TC-Version' => '2018-07-17',
        'X-TC-Region' => $region,
        'Content-Type' => 'application/json',
    ];
    $canonical = "POST\n/\n\ncontent-type:application/json\nhost:" . VOD_HOST . "\n\ncontent-type;host\n"
        . hash('SHA256', $payload);
    $date = gmdate('Y-m-d', $timestamp);
    $scope = "$date/vod/tc3_request";
    $to_sign = "TC3-HMAC-SHA256\n$timestamp\n$scope\n" . hash('SHA256', $canonical);
    $headers['Authorization'] = "TC3-HMAC-SHA256 Credential=$sid/$scope, SignedHeaders=content-type;host, Signature="
        . sign_tc3($skey, $date, 'vod', $to_sign);
    $client = new Client(['base_uri' => 'https://' . VOD_HOST]);
    $options = tc_options() + ['headers' => $headers, 'body' => $payload];
    $options['on_stats'] = function (TransferStats $stats) use (&$handler) {
        $handler = handler_of($stats);
    };
    $response = $client->post('/', $options);
    $body = json_decode((string) $response->getBody(), true);
    if (isset($body['Response']['Error'])) {
        throw new RuntimeException("$action: " . json_encode($body['Response']['Error']));
    }
    return $body['Response'];
}

/** Which Guzzle handler carried a request: only cURL reports its transfer info. */
function handler_of(TransferStats $stats)
{
    return isset($stats->getHandlerStats()['url']) ? 'curl' : 'stream';
}

/** Signature::createAuthorization of cos-php-sdk-v5. */
function cos_authorization($secret_id, $secret_key, $method, $path, $headers)
{
    $sign_time = (time() - 60) . ';' . (time() + 3600);
    $signed = [];
    foreach ($headers as $name => $value) {
        $signed[strtolower(rawurlencode($name))] = rawurlencode($value);
    }
    ksort($signed);
    $header_list = implode(';', array_keys($signed));
    $header_str = implode('&', array_map(fn ($k, $v) => "$k=$v", array_keys($signed), $signed));
    $http_string = strtolower($method) . "\n" . urldecode($path) . "\n\n" . $header_str . "\n";
    $string_to_sign = "sha1\n$sign_time\n" . sha1($http_string) . "\n";
    $signature = hash_hmac('sha1', $string_to_sign, hash_hmac('sha1', $sign_time, $secret_key));
    return "q-sign-algorithm=sha1&q-ak=$secret_id&q-sign-time=$sign_time&q-key-time=$sign_time"
        . "&q-header-list=$header_list&q-url-param-list=&q-signature=$signature";
}

/** PutObject as cos-php-sdk-v5's Client sends it for VodUploadClient::uploadCos. */
function cos_put($applied, $file, &$handler)
{
    $host = $applied['StorageBucket'] . '.cos.' . $applied['StorageRegion'] . '.myqcloud.com';
    $path = $applied['MediaStoragePath'];
    $cert = $applied['TempCertificate'];
    $body = file_get_contents($file);
    $headers = ['Host' => $host, 'Content-Type' => 'video/mp4', 'Content-Length' => (string) strlen($body)];
    $headers['Authorization'] = cos_authorization($cert['SecretId'], $cert['SecretKey'], 'PUT', $path, $headers);
    $headers['x-cos-security-token'] = $cert['Token'];
    $client = new Client(['base_uri' => "http://$host", 'timeout' => 3600, 'proxy' => null]);
    $response = $client->put($path, [
        'headers' => $headers,
        'body' => $body,
        'on_stats' => function (TransferStats $stats) use (&$handler) {
            $handler = handler_of($stats);
        },
    ]);
    return $response->getHeaderLine('ETag');
}

function upload($file)
{
    $applied = vod_call('ApplyUpload', ['MediaType' => 'mp4', 'MediaName' => 'php'], $vod_handler);
    $etag = cos_put($applied, $file, $cos_handler);
    $committed = vod_call('CommitUpload', ['VodSessionKey' => $applied['VodSessionKey']], $commit_handler);
    // MediaUrl is loopback under the emulator: NO_PROXY keeps it direct, cURL fetches it.
    $served = (string) (new Client())->get($committed['MediaUrl'], ['proxy' => null])->getBody();
    return [
        'FileId' => $committed['FileId'],
        'MediaUrl' => $committed['MediaUrl'],
        'ETag' => $etag,
        'BytesMatch' => $served === file_get_contents($file),
        'Handlers' => [$vod_handler, $cos_handler, $commit_handler],
    ];
}

/** Runs `$attempt`, returning the message of what it threw, or null when it succeeded. */
function failure($attempt)
{
    try {
        $attempt();
        return null;
    } catch (Throwable $e) {
        return $e->getMessage();
    }
}

function contain($tls_port)
{
    set_error_handler(function ($no, $message) {
        throw new ErrorException($message);
    });
    return [
        'AllowUrlFopen' => ini_get('allow_url_fopen'),
        'GuzzleHttps' => failure(fn () => (new Client())->get('https://example.invalid/', tc_options())),
        'CosHttp' => failure(fn () => (new Client(['proxy' => null]))->get('http://example.invalid/')),
        'Fopen' => failure(fn () => file_get_contents('https://example.com/')),
        'TlsSocket' => failure(fn () => stream_socket_client("tls://127.0.0.1:$tls_port", $errno, $errstr, 10)),
    ];
}

$out = match ($argv[1] ?? '') {
    'upload' => upload($argv[2]),
    'contain' => contain($argv[2]),
};
echo json_encode($out), "\n";
