# The minimax-hailuo-2-3 page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "minimax-hailuo-2-3",
  "input": {
    "prompt": "A cinematic portrait shot with smooth camera movement and realistic lighting.",
    "resolution": "768p",
    "duration": 6
  }
}'
