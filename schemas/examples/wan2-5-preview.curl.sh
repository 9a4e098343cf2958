# The wan2-5-preview page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "wan2-5-preview",
  "input": {
    "prompt": "A cinematic coastal road at sunset with smooth camera movement and realistic lighting.",
    "size": "16:9",
    "resolution": "720p",
    "duration": 5,
    "prompt_extend": true,
    "audio": true
  }
}'
