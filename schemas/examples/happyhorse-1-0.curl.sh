# The happyhorse-1-0 page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "happyhorse-1-0",
  "input": {
    "prompt": "一个小女孩走在路上,电影感画面",
    "size": "16:9",
    "resolution": "1080P",
    "duration": 5
  }
}'
