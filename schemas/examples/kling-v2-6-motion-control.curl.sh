# Seed 000's submit example, verbatim (mindvideo.ai model page).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
-H "Authorization: Bearer mv_live_xxx" \
-H "Content-Type: application/json" \
-H "Idempotency-Key: task_$(date +%s)" \
-d '{
"model": "kling-v2-6-motion-control",
"input": {
"prompt": "保持人物面部特征一致,按参考视频完成转身挥手动作,电影感光影",
"character_orientation": "image",
"image_url": "https://example.com/ref-image.png",
"keep_original_sound": "yes",
"mode": "std",
"video_url": "https://example.com/ref-video-8s.mp4"
}
}'
