# The kling-video-o1 page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "kling-video-o1",
  "input": {
    "prompt": "A cinematic skyline at golden hour, premium film look, natural camera movement",
    "aspect_ratio": "16:9",
    "duration": 5,
    "mode": "pro"
  }
}'
