from __future__ import annotations

from django.db import models


class Feedback(models.Model):
    """A reader's answer to "did this solve it?" on a cause page."""

    cause_id = models.CharField(max_length=64, db_index=True)
    framework_id = models.CharField(max_length=32, blank=True)
    solved = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["cause_id", "framework_id"])]

    def __str__(self) -> str:
        verdict = "solved" if self.solved else "not solved"
        return f"{self.cause_id} ({self.framework_id or 'any framework'}): {verdict}"
