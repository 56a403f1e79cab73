"""qiangcun (强村): a township platform for growing village collective income."""

__version__ = "0.1.0"
