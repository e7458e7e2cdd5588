// Upload a video to Tencent Cloud VOD with vod-java-sdk and print its FileId and MediaUrl.
//
// The same file runs against the real service and against vod-emulator; nothing in it names
// the emulator:
//
//     java -cp <vod-java-sdk 2.1.5 and its dependencies>:. Upload video.mp4                       # Tencent Cloud
//     vod-emulator exec -- java -cp <vod-java-sdk 2.1.5 and its dependencies>:. Upload video.mp4  # the emulator
//
// The one line a Java program needs: the COS client inside VodUploadClient (Apache
// HttpClient) reads no proxy setting of the JVM, only the HttpProfile it is given. Taking the
// proxy from HTTPS_PROXY, when there is one, is ordinary configuration: without it the
// profile is empty and the SDK connects directly, as it always did.
//
// Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region: TENCENTCLOUD_REGION
// (default ap-guangzhou).

import com.qcloud.vod.VodUploadClient;
import com.qcloud.vod.model.VodUploadRequest;
import com.qcloud.vod.model.VodUploadResponse;
import com.tencentcloudapi.common.profile.HttpProfile;
import java.net.URI;

public class Upload {
    public static void main(String[] args) throws Exception {
        HttpProfile profile = new HttpProfile();
        String proxy = System.getenv("HTTPS_PROXY");
        if (proxy != null && !proxy.isEmpty()) {
            URI uri = URI.create(proxy);
            profile.setProxyHost(uri.getHost());
            profile.setProxyPort(uri.getPort());
        }
        VodUploadClient client = new VodUploadClient(
            System.getenv("TENCENTCLOUD_SECRET_ID"), System.getenv("TENCENTCLOUD_SECRET_KEY"), profile);
        VodUploadRequest request = new VodUploadRequest();
        request.setMediaFilePath(args[0]);
        String region = System.getenv().getOrDefault("TENCENTCLOUD_REGION", "ap-guangzhou");
        VodUploadResponse response = client.upload(region, request);
        System.out.println("{\"FileId\":\"" + response.getFileId() + "\",\"MediaUrl\":\""
            + response.getMediaUrl() + "\"}");
    }
}
