# Seed 001's submit example, verbatim (mindvideo.ai model page).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
-H "Authorization: Bearer mv_live_xxx" \
-H "Content-Type: application/json" \
-H "Idempotency-Key: task_$(date +%s)" \
-d '{
"model": "kling-v3",
"input": {
"prompt": "A cinematic video of a red sports car driving along a coastal road at sunset, realistic lighting, smooth camera movement, high detail.",
"aspect_ratio": "16:9",
"duration": 5,
"mode": "std"
}
}'
