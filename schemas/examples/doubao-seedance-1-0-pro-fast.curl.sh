# The doubao-seedance-1-0-pro-fast page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "doubao-seedance-1-0-pro-fast",
  "input": {
    "prompt": "A cute kitten playing in sunlight, fluffy fur, bright eyes",
    "aspect_ratio": "16:9",
    "resolution": "1080p",
    "duration": 5
  }
}'
