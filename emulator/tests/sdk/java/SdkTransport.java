// The transport of the official Java SDKs (vod-java-sdk 2.1.5, which pins
// tencentcloud-sdk-java 3.1.2 and cos_api 5.6.8), reproduced with Debian's OkHttp and Apache
// HttpClient jars (Maven Central is not reachable from the tests):
//
// - tencentcloud-sdk-java, common/http/HttpConnection.java: a plain OkHttpClient with
//   timeouts; common/AbstractClient.java sets a Proxy only when HttpProfile names one, so
//   OkHttp asks the JVM's ProxySelector (https.proxyHost/Port, http.nonProxyHosts) and trusts
//   the default SSLContext (javax.net.ssl.trustStore); TC3-HMAC-SHA256 over content-type;host.
// - cos_api, http/DefaultCosHttpClient.java: HttpClients.custom() with a pooling connection
//   manager and never useSystemProperties(); a proxy only from ClientConfig.setHttpProxyIp/
//   Port, which VodUploadClient fills from its HttpProfile. Here that profile is the one line
//   the README documents: the proxy read from HTTPS_PROXY. COS over https, q-sign sha1.
//
// Nothing here names the emulator. Prints one JSON object.
//
//   java SdkTransport upload FILE        ApplyUpload -> COS PUT -> CommitUpload
//   java SdkTransport contain TLS_PORT   what a non-emulated destination gets, and the roots

import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.apache.http.HttpHost;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.client.methods.HttpPut;
import org.apache.http.entity.ByteArrayEntity;
import org.apache.http.impl.client.CloseableHttpClient;
import org.apache.http.impl.client.HttpClients;
import org.apache.http.impl.conn.PoolingHttpClientConnectionManager;

public class SdkTransport {
    static final String VOD_HOST = "vod.tencentcloudapi.com";

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) out.append(String.format("%02x", b));
        return out.toString();
    }

    static byte[] hmac(String algo, byte[] key, String msg) throws Exception {
        Mac mac = Mac.getInstance(algo);
        mac.init(new SecretKeySpec(key, algo));
        return mac.doFinal(msg.getBytes(StandardCharsets.UTF_8));
    }

    static String sha256(String s) throws Exception {
        return hex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    /** HttpConnection's client: no proxy, no SSL settings of its own. */
    static OkHttpClient okhttp() {
        return new OkHttpClient.Builder()
            .connectTimeout(60, TimeUnit.SECONDS)
            .readTimeout(60, TimeUnit.SECONDS)
            .writeTimeout(60, TimeUnit.SECONDS)
            .build();
    }

    /** One VOD API call as AbstractClient.internalRequest makes it with TC3. */
    static String vodCall(String action, String payload) throws Exception {
        long ts = Instant.now().getEpochSecond();
        String date = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC)
            .format(Instant.ofEpochSecond(ts));
        String canonical = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:" + VOD_HOST
            + "\n\ncontent-type;host\n" + sha256(payload);
        String scope = date + "/vod/tc3_request";
        String toSign = "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha256(canonical);
        byte[] key = ("TC3" + System.getenv("TENCENTCLOUD_SECRET_KEY")).getBytes(StandardCharsets.UTF_8);
        key = hmac("HmacSHA256", hmac("HmacSHA256", hmac("HmacSHA256", key, date), "vod"), "tc3_request");
        String auth = "TC3-HMAC-SHA256 Credential=" + System.getenv("TENCENTCLOUD_SECRET_ID") + "/" + scope
            + ", SignedHeaders=content-type;host, Signature=" + hex(hmac("HmacSHA256", key, toSign));
        Request request = new Request.Builder()
            .url("https://" + VOD_HOST + "/")
            .post(RequestBody.create(MediaType.parse("application/json; charset=utf-8"),
                payload.getBytes(StandardCharsets.UTF_8)))
            .header("Host", VOD_HOST)
            .header("Authorization", auth)
            .header("X-TC-Action", action)
            .header("X-TC-Timestamp", Long.toString(ts))
            .header("X-TC-Version", "2018-07-17")
            .header("X-TC-Region", "ap-guangzhou")
            .header("X-TC-RequestClient", "SDK_JAVA_3.1.2")
            .build();
        try (Response response = okhttp().newCall(request).execute()) {
            String body = response.body().string();
            if (body.contains("\"Error\"")) throw new RuntimeException(action + ": " + body);
            return body;
        }
    }

    /** A string field of a JSON text (the tests' answers are flat enough for this). */
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        if (!m.find()) throw new RuntimeException("no " + name + " in " + json);
        return m.group(1).replace("\\/", "/");
    }

    /** The documented line: VodUploadClient's HttpProfile proxy, taken from HTTPS_PROXY. */
    static HttpHost proxyFromEnvironment() {
        URI proxy = URI.create(System.getenv("HTTPS_PROXY"));
        return new HttpHost(proxy.getHost(), proxy.getPort());
    }

    /** DefaultCosHttpClient's client (no useSystemProperties()), with ClientConfig's proxy. */
    static CloseableHttpClient cosClient(HttpHost proxy) {
        RequestConfig.Builder config = RequestConfig.custom().setConnectTimeout(30000).setSocketTimeout(30000);
        if (proxy != null) config.setProxy(proxy);
        return HttpClients.custom()
            .setConnectionManager(new PoolingHttpClientConnectionManager())
            .setDefaultRequestConfig(config.build())
            .build();
    }

    static String hmac1(String key, String msg) throws Exception {
        return hex(hmac("HmacSHA1", key.getBytes(StandardCharsets.UTF_8), msg));
    }

    /** PutObject as cos_api's COSSigner signs it. */
    static String cosPut(String applied, byte[] data) throws Exception {
        String host = field(applied, "StorageBucket") + ".cos." + field(applied, "StorageRegion") + ".myqcloud.com";
        String path = field(applied, "MediaStoragePath");
        long now = Instant.now().getEpochSecond();
        String keyTime = (now - 60) + ";" + (now + 3600);
        String httpString = "put\n" + path + "\n\nhost=" + host + "\n";
        String toSign = "sha1\n" + keyTime + "\n"
            + hex(MessageDigest.getInstance("SHA-1").digest(httpString.getBytes(StandardCharsets.UTF_8))) + "\n";
        String signature = hmac1(hmac1(field(applied, "SecretKey"), keyTime), toSign);
        HttpPut put = new HttpPut("https://" + host + path);
        put.setHeader("Authorization", "q-sign-algorithm=sha1&q-ak=" + field(applied, "SecretId")
            + "&q-sign-time=" + keyTime + "&q-key-time=" + keyTime
            + "&q-header-list=host&q-url-param-list=&q-signature=" + signature);
        put.setHeader("x-cos-security-token", field(applied, "Token"));
        put.setEntity(new ByteArrayEntity(data));
        try (CloseableHttpClient client = cosClient(proxyFromEnvironment());
             CloseableHttpResponse response = client.execute(put)) {
            if (response.getStatusLine().getStatusCode() != 200) {
                throw new RuntimeException("PutObject: " + response.getStatusLine());
            }
            return response.getFirstHeader("ETag").getValue();
        }
    }

    static Map<String, Object> upload(String file) throws Exception {
        byte[] data = Files.readAllBytes(Paths.get(file));
        String applied = vodCall("ApplyUpload", "{\"MediaType\":\"mp4\",\"MediaName\":\"java\"}");
        String etag = cosPut(applied, data);
        String committed = vodCall("CommitUpload", "{\"VodSessionKey\":\"" + field(applied, "VodSessionKey") + "\"}");
        String mediaUrl = field(committed, "MediaUrl");
        byte[] served;
        try (InputStream in = new URL(mediaUrl).openStream()) {
            served = in.readAllBytes();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("FileId", field(committed, "FileId"));
        out.put("MediaUrl", mediaUrl);
        out.put("ETag", etag);
        out.put("BytesMatch", Arrays.equals(served, data));
        return out;
    }

    /** What `attempt` threw (with its causes), or "returned " and what it returned. */
    static String failure(Callable<?> attempt) {
        try {
            return "returned " + attempt.call();
        } catch (Throwable e) {
            StringBuilder out = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) out.append(t).append(" | ");
            return out.toString();
        }
    }

    static Map<String, Object> contain(String tlsPort) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        List<String> roots = new ArrayList<>();
        for (X509Certificate c : ((X509TrustManager) tmf.getTrustManagers()[0]).getAcceptedIssuers()) {
            roots.add(c.getSubjectX500Principal().getName());
        }
        String other = "https://127.0.0.1:" + tlsPort + "/";
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Roots", roots);
        out.put("OkHttp", failure(() -> {
            try (Response r = okhttp().newCall(new Request.Builder().url("https://example.invalid/").build()).execute()) {
                return r.code();
            }
        }));
        out.put("UrlConnection", failure(() -> ((HttpURLConnection) new URL("https://example.invalid/")
            .openConnection()).getResponseCode()));
        out.put("CosWithProfile", failure(() -> {
            try (CloseableHttpClient c = cosClient(proxyFromEnvironment())) {
                return c.execute(new HttpGet("https://example.invalid/")).getStatusLine().getStatusCode();
            }
        }));
        out.put("OtherCa", failure(() -> ((HttpURLConnection) new URL(other).openConnection()).getResponseCode()));
        out.put("CosOtherCa", failure(() -> {
            try (CloseableHttpClient c = cosClient(null)) {
                return c.execute(new HttpGet(other)).getStatusLine().getStatusCode();
            }
        }));
        return out;
    }

    static String json(Object value) {
        if (value instanceof String) {
            return "\"" + ((String) value).replace("\\", "\\\\").replace("\"", "\\\"")
                .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "\"";
        }
        if (value instanceof List) {
            List<String> items = new ArrayList<>();
            for (Object item : (List<?>) value) items.add(json(item));
            return "[" + String.join(",", items) + "]";
        }
        if (value instanceof Map) {
            List<String> items = new ArrayList<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                items.add(json(e.getKey()) + ":" + json(e.getValue()));
            }
            return "{" + String.join(",", items) + "}";
        }
        return String.valueOf(value);
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> out = args[0].equals("upload") ? upload(args[1]) : contain(args[1]);
        System.out.println(json(out));
    }
}
