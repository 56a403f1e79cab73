"""Password rules with their messages in Chinese (Django's own messages are not all translated).

The rules are settings (``settings.AUTH_PASSWORD_VALIDATORS``): length, character classes, the
common-password list, and no reuse of the last few passwords. Length, classes and history follow the policy
in force (:mod:`qiangcun.accounts.policy`: the security admin's, or the environment's) unless a number is
given to the validator."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import CommonPasswordValidator as _Common
from django.core.exceptions import ValidationError


def _policy() -> Any:
    from qiangcun.accounts.policy import current

    return current()


class MinimumLengthValidator:
    """At least ``min_length`` characters."""

    def __init__(self, min_length: int | None = None) -> None:
        self._fixed = min_length

    @property
    def min_length(self) -> int:
        return int(self._fixed) if self._fixed is not None else int(_policy().password_min_length)

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                f"密码太短：至少 {self.min_length} 位（现在 {len(password)} 位）",
                code="password_too_short",
                params={"min_length": self.min_length},
            )

    def get_help_text(self) -> str:
        return f"至少 {self.min_length} 位"


CLASSES = ("大写字母", "小写字母", "数字", "符号")


def character_classes(password: str) -> list[str]:
    """Which of the four classes ``password`` uses; a Chinese character or any other letter counts as a
    symbol (it is neither an ASCII letter nor a digit)."""
    found = set()
    for ch in password:
        if "A" <= ch <= "Z":
            found.add(0)
        elif "a" <= ch <= "z":
            found.add(1)
        elif "0" <= ch <= "9":
            found.add(2)
        else:
            found.add(3)
    return [CLASSES[i] for i in sorted(found)]


class CharacterClassesValidator:
    """At least ``min_classes`` of upper case, lower case, digits and symbols."""

    def __init__(self, min_classes: int | None = None) -> None:
        self._fixed = min_classes

    @property
    def min_classes(self) -> int:
        wanted = self._fixed if self._fixed is not None else _policy().password_min_classes
        return max(1, min(int(wanted), len(CLASSES)))

    def validate(self, password: str, user: Any = None) -> None:
        used = character_classes(password)
        if len(used) < self.min_classes:
            have = "、".join(used) or "无"
            raise ValidationError(
                f"密码要包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类（现在只有{have}）",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return f"含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类"


#: Passwords common in Chinese offices that Django's list (English-speaking leaks) does not hold;
#: compared without regard to case.
COMMON_HERE = frozenset(
    {
        "a123456",
        "a123456789",
        "aa123456",
        "abc123456",
        "abc@123",
        "abcd1234",
        "admin123",
        "admin@123",
        "admin@1234",
        "admin123456",
        "p@ssw0rd",
        "p@ssword1",
        "password1!",
        "qwe123!@#",
        "qwer1234",
        "qwer@1234",
        "1qaz@wsx",
        "1qaz2wsx",
        "1qaz!qaz",
        "woaini1314",
        "woaini520",
        "zxcvbnm123",
        "qiangcun2020",
        "qiangcun@2020",
        "qiangcun@123",
        "huawei@123",
        "root@123",
        "test@123",
        "welcome1!",
    }
)


class CommonPasswordValidator(_Common):
    """Django's list of 20,000 common passwords plus :data:`COMMON_HERE`, with a Chinese message."""

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower().strip()
        if lowered in COMMON_HERE or lowered in self.passwords:
            raise ValidationError("这是常见密码，很容易被猜到，请换一个", code="password_too_common")

    def get_help_text(self) -> str:
        return "不能是常见密码"


class HistoryValidator:
    """Not one of the user's last ``count`` passwords (the current one included)."""

    def __init__(self, count: int | None = None) -> None:
        self._fixed = count

    @property
    def count(self) -> int:
        return max(0, int(self._fixed if self._fixed is not None else _policy().password_history))

    def validate(self, password: str, user: Any = None) -> None:
        if not self.count or user is None or getattr(user, "pk", None) is None:
            return
        from qiangcun.accounts.models import PasswordHistory

        hashes = [user.password] if user.password else []
        hashes += list(
            PasswordHistory.objects.filter(user_id=user.pk)
            .order_by("-at", "-id")
            .values_list("password", flat=True)[: max(self.count - 1, 0)]
        )
        if any(check_password(password, encoded) for encoded in hashes[: self.count]):
            raise ValidationError(
                f"不能与最近 {self.count} 次用过的密码相同，请换一个", code="password_reused"
            )

    def get_help_text(self) -> str:
        return f"不能与最近 {self.count} 次用过的密码相同"
