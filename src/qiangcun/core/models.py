from qiangcun.core.audit import ChangeRecord

__all__ = ["ChangeRecord"]
