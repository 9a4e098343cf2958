# The doubao-seedance-2-0-fast page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "doubao-seedance-2-0-fast",
  "input": {
    "prompt": "A cinematic tracking shot of a futuristic city street after rain",
    "size": "16:9",
    "resolution": "720p",
    "duration": 5,
    "generate_audio": true
  }
}'
