"""Password rules with their messages in Chinese (Django's own length message is not translated)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import MinimumLengthValidator as _MinimumLength
from django.core.exceptions import ValidationError


class MinimumLengthValidator(_MinimumLength):
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                f"密码太短：至少 {self.min_length} 位（现在 {len(password)} 位）",
                code="password_too_short",
                params={"min_length": self.min_length},
            )

    def get_help_text(self) -> str:
        return f"至少 {self.min_length} 位"
