# The wan2-7-videoedit page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "wan2-7-videoedit",
  "input": {
    "prompt": "将背景替换为雪山场景。",
    "resolution": "1080P",
    "duration": 0,
    "video_urls": [
      "https://example.com/original.mp4"
    ]
  }
}'
