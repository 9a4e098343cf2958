# The viduq3 page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "viduq3",
  "input": {
    "prompt": "Santa Claus and a bear hug by the lake while the camera slowly moves closer.",
    "aspect_ratio": "16:9",
    "resolution": "720p",
    "duration": 5,
    "image_urls": [
      "https://example.com/santa.png",
      "https://example.com/bear.png"
    ]
  }
}'
