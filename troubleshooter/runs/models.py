from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from troubleshooter.probe import KINDS


class Worker(models.Model):
    """A server process that runs experiments. It writes its heartbeat every second while it
    lives, so its runs are known lost within seconds of it dying, however long ago their
    own last write was (a quiet stream writes nothing for a while)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    started = models.DateTimeField(auto_now_add=True)
    heartbeat = models.DateTimeField()
    # Where it runs, so an operator can tell which process holds a run.
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"worker {self.pk} on {self.host}:{self.pid} (last beat {self.heartbeat:%H:%M:%S})"


SOURCE_TITLES = {
    "curl-trace": "a curl trace", "probe-record": "a standalone probe's record", "har": "a browser's HAR file",
    "browser": "a measurement in a browser",
}


class Run(models.Model):
    """One experiment started from the browser, and what it found.

    The request is stored as it may be shown: secret header values are replaced before
    anything is saved. Live events are kept in RunEvents batches; the finished report
    (verdict, metrics, records) lands in `report`.
    """

    class State(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        CANCELLED = "cancelled"
        # The worker running it stopped (a restart or a crash) before it finished.
        INTERRUPTED = "interrupted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)  # the run's own last write
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING, db_index=True)
    url = models.CharField(max_length=2048)  # redacted, for lists and titles
    plan = models.JSONField()  # the form's data without secret values, to show and to run again
    framework = models.CharField(max_length=32, blank=True)
    walk = models.CharField(max_length=1000, blank=True)  # the troubleshooter walk it came from
    # Where the measurement came from: this server's own probe, or evidence a person
    # imported (a curl trace, a standalone probe's record).
    source = models.CharField(max_length=32, default="probe")
    client = models.CharField(max_length=64, db_index=True)  # a hash, for per-client limits
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    team = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # Set when the owner shares it: whoever has the link sees the run, read-only.
    share_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    last_seq = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=32, blank=True)
    # Which lane the outcome is from, when there are several ("through the proxy").
    outcome_lane = models.CharField(max_length=64, blank=True)
    report = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "created"]), models.Index(fields=["state", "finished"])]

    def __str__(self) -> str:
        return f"{self.kind} run of {self.url} ({self.outcome or self.state})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.RUNNING

    def share(self) -> str:
        if not self.share_token:
            self.share_token = secrets.token_urlsafe(24)
            self.save(update_fields=["share_token"])
        return self.share_token

    def stop_sharing(self) -> None:
        self.share_token = None
        self.save(update_fields=["share_token"])

    @property
    def imported_from(self) -> str:
        """What evidence an imported run was read from ("" for this server's own probe)."""
        return SOURCE_TITLES.get(self.source, self.source) if self.source != "probe" else ""

    @property
    def kind_title(self) -> str:
        kind = KINDS.get(self.kind)
        return kind.title if kind else self.kind

    def lane_labels(self) -> list[str]:
        """The lanes its experiment draws, in order."""
        kind = KINDS.get(self.kind, KINDS["single"])
        return kind.lane_labels(int(self.plan.get("concurrency") or 1))


class RunEvents(models.Model):
    """A batch of a run's live events, numbered from 1 without gaps across batches.

    Viewers replay these from any sequence number; the channel layer only tells them
    that a new batch is here.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batches")
    first_seq = models.PositiveIntegerField()
    last_seq = models.PositiveIntegerField()
    events = models.JSONField()

    class Meta:
        ordering = ["first_seq"]
        constraints = [models.UniqueConstraint(fields=["run", "first_seq"], name="runs_one_batch_per_start")]
        indexes = [models.Index(fields=["run", "last_seq"])]


class Chore(models.Model):
    """A task one worker of many does now and then (pruning old runs): the last time any
    worker did it, so that a conditional update elects exactly one to do it again."""

    name = models.CharField(max_length=32, primary_key=True)
    last_done = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} (last done {self.last_done:%Y-%m-%d %H:%M})"


class ApiToken(models.Model):
    """A person's key to the JSON API, sent as `Authorization: Bearer <key_id>.<secret>`.

    Only a hash of the secret is kept: the token is shown once, when it is made, and a copy
    of the database cannot be used to call the API. The key id is not secret; it finds the
    row so that the hash is compared with one value, in constant time (see tokens.py).
    """

    key_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)  # SHA-256 of the secret, hex
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)  # what the person uses it for
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"API token {self.key_id} of {self.user_id} ({self.name or 'unnamed'})"
