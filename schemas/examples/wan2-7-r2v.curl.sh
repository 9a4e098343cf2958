# The wan2-7-r2v page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "wan2-7-r2v",
  "input": {
    "prompt": "图1中的人物走在城市街道上,镜头平稳跟拍,电影感光影。",
    "size": "16:9",
    "resolution": "1080P",
    "duration": 5,
    "image_with_roles": [
      {
        "url": "https://example.com/character.jpg",
        "role": "reference_image"
      }
    ]
  }
}'
