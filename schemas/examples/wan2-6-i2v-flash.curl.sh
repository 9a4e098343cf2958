# Seed 003's submit example, verbatim (mindvideo.ai model page).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
-H "Authorization: Bearer mv_live_xxx" \
-H "Content-Type: application/json" \
-H "Idempotency-Key: task_$(date +%s)" \
-d '{
"model": "wan2-6-i2v-flash",
"input": {
"prompt": "Let the person in the image turn and smile while the camera slowly pushes in.",
"resolution": "1080p",
"duration": 5,
"image_urls": [
"https://example.com/portrait.jpg"
],
"audio": true
}
}'
