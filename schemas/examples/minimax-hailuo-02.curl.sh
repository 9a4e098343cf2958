# The minimax-hailuo-02 page's submit example, verbatim (mindvideo.ai model page, stored copy).
curl -X POST https://api.mindvideo.ai/api/v1/tasks \
  -H "Authorization: Bearer mv_live_xxx" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: task_$(date +%s)" \
  -d '{
  "model": "minimax-hailuo-02",
  "input": {
    "prompt": "一只可爱的猫咪在草地上奔跑,阳光明媚,镜头轻微跟随",
    "resolution": "768p",
    "duration": 5,
    "prompt_optimizer": true
  }
}'
