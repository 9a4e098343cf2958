# The viduq3-turbo page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "viduq3-turbo",
  "input": {
    "prompt": "A sports car racing through a neon-lit city street at night.",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 5,
    "audio": true
  }
}'
