# The doubao-seedance-1-0-pro-quality page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "doubao-seedance-1-0-pro-quality",
  "input": {
    "prompt": "A girl spinning under cherry blossoms, petals drifting in the wind",
    "aspect_ratio": "9:16",
    "resolution": "1080p",
    "duration": 5
  }
}'
