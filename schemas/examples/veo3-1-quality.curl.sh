# The veo3-1-quality page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "veo3-1-quality",
  "input": {
    "prompt": "海边日落时一辆红色跑车驶过公路,镜头平稳推进,电影感",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 8
  }
}'
