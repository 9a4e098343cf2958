# The kling-v3-motion-control page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "kling-v3-motion-control",
  "input": {
    "prompt": "人物按参考视频动作起舞,动作连贯,写实风格",
    "character_orientation": "image",
    "image_url": "https://example.com/ref-image.png",
    "keep_original_sound": "yes",
    "mode": "std",
    "video_url": "https://example.com/ref-video-8s.mp4"
  }
}'
