// Upload a video to Tencent Cloud VOD with vod-go-sdk and print its FileId and MediaUrl.
//
// The same file runs against the real service and against vod-emulator; nothing in it names
// the emulator:
//
//	go run upload.go video.mp4                        # Tencent Cloud
//	vod-emulator exec -- go run upload.go video.mp4   # the emulator (build first: `go run`
//	                                                  # under exec cannot download modules)
//
// Credentials: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY; region: TENCENTCLOUD_REGION
// (default ap-guangzhou).
package main

import (
	"encoding/json"
	"os"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentyun/vod-go-sdk"
)

func main() {
	client := &vod.VodUploadClient{
		SecretId:  os.Getenv("TENCENTCLOUD_SECRET_ID"),
		SecretKey: os.Getenv("TENCENTCLOUD_SECRET_KEY"),
	}
	request := vod.NewVodUploadRequest()
	request.MediaFilePath = common.StringPtr(os.Args[1])
	region := os.Getenv("TENCENTCLOUD_REGION")
	if region == "" {
		region = "ap-guangzhou"
	}
	response, err := client.Upload(region, request)
	if err != nil {
		panic(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]string{
		"FileId":   *response.Response.FileId,
		"MediaUrl": *response.Response.MediaUrl,
	})
}
