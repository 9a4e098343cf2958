# The viduq3-pro page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "viduq3-pro",
  "input": {
    "prompt": "A cinematic shot of a dancer turning under soft stage lighting.",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 5,
    "audio": true
  }
}'
