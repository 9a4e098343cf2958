# The kling-v3-omni page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "kling-v3-omni",
  "input": {
    "prompt": "一只金毛犬在沙滩上奔跑,日落,电影质感",
    "aspect_ratio": "16:9",
    "duration": 5,
    "mode": "std"
  }
}'
