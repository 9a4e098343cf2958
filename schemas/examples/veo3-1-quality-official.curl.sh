# The veo3-1-quality-official page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "veo3-1-quality-official",
  "input": {
    "prompt": "A cinematic close-up of a ragdoll cat walking through a sunlit living room, rich detail, realistic motion.",
    "aspect_ratio": "16:9",
    "resolution": "1080p",
    "duration": 8,
    "enhance_prompt": true,
    "generate_audio": true,
    "person_generation": "disallow",
    "resize_mode": "pad",
    "sample_count": 1
  }
}'
