"""Alert mail: the database decides (a trigger on `runs` writes `alerts`); `pulse worker`
composes and delivers (delivery.py), and GET /api/alerts shows what became of each."""
