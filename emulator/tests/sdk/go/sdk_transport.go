// The transport of the official Go SDKs, reproduced with the standard library (Debian's
// golang-go; the module proxy is not reachable from the tests):
//
//   - tencentcloud-sdk-go, tencentcloud/common/client.go: an http.Client whose transport is
//     net/http's default one (Proxy: http.ProxyFromEnvironment) when HttpProfile sets no
//     proxy; tencentcloud/common/sign.go: TC3-HMAC-SHA256 over content-type;host.
//   - cos-go-sdk-v5, cos.go (NewClient: AuthorizationTransport over http.DefaultTransport,
//     https://<bucket>.cos.<region>.myqcloud.com) and auth.go (q-sign-algorithm=sha1).
//   - vod-go-sdk, upload_client.go: ApplyUpload, PutObject with the TempCertificate,
//     CommitUpload.
//
// Nothing here names the emulator: credentials come from TENCENTCLOUD_SECRET_ID/_KEY, the
// endpoints are the cloud's. Prints one JSON object.
//
//	sdk_transport upload FILE        ApplyUpload -> COS PUT -> CommitUpload
//	sdk_transport contain TLS_PORT   what a non-emulated destination gets, and the trusted roots
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const vodHost = "vod.tencentcloudapi.com"

func hmac256(key []byte, msg string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// vodCall is one VOD API call as tencentcloud-sdk-go's Client.sendWithSignatureTc3 makes it.
func vodCall(action string, params map[string]string) map[string]interface{} {
	payload, _ := json.Marshal(params)
	ts := time.Now().Unix()
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	canonical := "POST\n/\n\ncontent-type:application/json\nhost:" + vodHost + "\n\ncontent-type;host\n" +
		sha256hex(string(payload))
	scope := date + "/vod/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + sha256hex(canonical)
	key := hmac256(hmac256(hmac256([]byte("TC3"+os.Getenv("TENCENTCLOUD_SECRET_KEY")), date), "vod"), "tc3_request")
	auth := "TC3-HMAC-SHA256 Credential=" + os.Getenv("TENCENTCLOUD_SECRET_ID") + "/" + scope +
		", SignedHeaders=content-type;host, Signature=" + hex.EncodeToString(hmac256(key, toSign))
	req, _ := http.NewRequest("POST", "https://"+vodHost+"/", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", "2018-07-17")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", "ap-guangzhou")
	req.Header.Set("X-TC-RequestClient", "SDK_GO_1.0.0")
	resp, err := (&http.Client{}).Do(req)
	check(err)
	defer resp.Body.Close()
	var body struct{ Response map[string]interface{} }
	check(json.NewDecoder(resp.Body).Decode(&body))
	if e, ok := body.Response["Error"]; ok {
		check(fmt.Errorf("%s: %v", action, e))
	}
	return body.Response
}

func hmac1hex(key, msg string) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

// cosPut is PutObject as cos-go-sdk-v5's AuthorizationTransport signs it.
func cosPut(applied map[string]interface{}, data []byte) string {
	cert := applied["TempCertificate"].(map[string]interface{})
	host := fmt.Sprintf("%s.cos.%s.myqcloud.com", applied["StorageBucket"], applied["StorageRegion"])
	path := applied["MediaStoragePath"].(string)
	now := time.Now().Unix()
	keyTime := fmt.Sprintf("%d;%d", now-60, now+3600)
	httpString := "put\n" + path + "\n\nhost=" + host + "\n"
	sum := sha1.Sum([]byte(httpString))
	toSign := "sha1\n" + keyTime + "\n" + hex.EncodeToString(sum[:]) + "\n"
	signature := hmac1hex(hmac1hex(cert["SecretKey"].(string), keyTime), toSign)
	req, _ := http.NewRequest("PUT", "https://"+host+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak="+cert["SecretId"].(string)+
		"&q-sign-time="+keyTime+"&q-key-time="+keyTime+"&q-header-list=host&q-url-param-list=&q-signature="+signature)
	req.Header.Set("x-cos-security-token", cert["Token"].(string))
	req.Header.Set("Content-Type", "video/mp4")
	resp, err := (&http.Client{}).Do(req)
	check(err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		check(fmt.Errorf("PutObject: %s %s", resp.Status, body))
	}
	return resp.Header.Get("ETag")
}

func upload(file string) map[string]interface{} {
	data, err := os.ReadFile(file)
	check(err)
	applied := vodCall("ApplyUpload", map[string]string{"MediaType": "mp4", "MediaName": "go"})
	etag := cosPut(applied, data)
	committed := vodCall("CommitUpload", map[string]string{"VodSessionKey": applied["VodSessionKey"].(string)})
	resp, err := http.Get(committed["MediaUrl"].(string))
	check(err)
	served, err := io.ReadAll(resp.Body)
	check(err)
	return map[string]interface{}{
		"FileId": committed["FileId"], "MediaUrl": committed["MediaUrl"], "ETag": etag,
		"BytesMatch": bytes.Equal(served, data),
	}
}

// outcome is the error a GET of url ends in, or the response's status line.
func outcome(url string) string {
	resp, err := (&http.Client{}).Get(url)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	return "HTTP " + resp.Status
}

func contain(tlsPort string) map[string]interface{} {
	pool, err := x509.SystemCertPool()
	check(err)
	//lint:ignore SA1019 the only way to count the roots of a system pool
	subjects := pool.Subjects()
	roots := []string{}
	for _, raw := range subjects {
		roots = append(roots, string(raw))
	}
	return map[string]interface{}{
		"Https":        outcome("https://example.invalid/"),
		"Http":         outcome("http://example.invalid/"),
		"OtherCa":      outcome("https://127.0.0.1:" + tlsPort + "/"),
		"RootCount":    len(subjects),
		"RootsHaveEmu": strings.Contains(strings.Join(roots, ""), "vod-emulator"),
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	var out map[string]interface{}
	switch os.Args[1] {
	case "upload":
		out = upload(os.Args[2])
	case "contain":
		out = contain(os.Args[2])
	}
	check(json.NewEncoder(os.Stdout).Encode(out))
}
