"""The categories and development paths every installation starts with (DOMAIN.md)."""

CATEGORIES = [
    # (line, name, counts toward targets)
    ("operating", "经营收入", True),
    ("contracting", "发包及上交收入", True),
    ("investment", "投资收益", True),
    ("subsidy", "补助收入", False),
    ("other", "其他收入", False),
]

PATHS = [
    "土地流转",
    "现代农业",
    "光伏发电",
    "扶贫项目收益",
    "合作社",
    "有偿服务",
    "招商引资",
    "边角经济",
    "电商",
    "其他",
]
