# The veo3-1-fast-official page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "veo3-1-fast-official",
  "input": {
    "prompt": "A golden retriever running on the beach at sunset, cinematic lighting, realistic motion.",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 8,
    "enhance_prompt": true,
    "person_generation": "allow_adult",
    "resize_mode": "pad",
    "sample_count": 1
  }
}'
