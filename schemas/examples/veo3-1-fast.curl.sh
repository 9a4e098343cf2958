# The veo3-1-fast page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "veo3-1-fast",
  "input": {
    "prompt": "海豚在碧蓝海洋中跳跃,阳光穿透海面,电影感镜头",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 8
  }
}'
