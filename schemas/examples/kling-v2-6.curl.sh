# Seed 002's submit example, verbatim (mindvideo.ai model page).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "kling-v2-6",
  "input": {
    "prompt": "A cinematic shot of a silver sports car driving through neon-lit rain",
    "size": "16:9",
    "duration": 5,
    "mode": "std"
  }
}'
