"""The progress bar callback (tqdm: a widget in a notebook, text in a terminal)."""
from __future__ import annotations

import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """A NetTrain callback showing round, loss and examples/s with tqdm.

    Redrawn at most every ``interval`` seconds (and at the end), so it costs
    nothing measurable per batch: it asks NetTrain for no batch events, and
    the rounds in between only count.
    """

    wants_batches = False

    def __init__(self, interval=0.1, **tqdm_kwargs):
        self.interval = interval
        self.tqdm_kwargs = tqdm_kwargs
        self.bar = None
        self._pending, self._shown = 0, 0.0

    def __call__(self, event):
        if event.kind == "start":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=event.max_rounds, unit="round", desc="NetTrain", leave=True,
                            mininterval=self.interval, **self.tqdm_kwargs)
            self._pending, self._shown = 0, time.monotonic()
        elif event.kind == "round" and self.bar is not None:
            self._pending += 1
            now = time.monotonic()
            if now - self._shown >= self.interval or event.round == event.max_rounds:
                post = {"loss": f"{event.round_loss:.4g}"}
                if event.validation_loss is not None:
                    post["val"] = f"{event.validation_loss:.4g}"
                if event.examples_per_second:
                    post["ex/s"] = f"{event.examples_per_second:,.0f}"
                self.bar.set_postfix(post, refresh=False)
                self.bar.update(self._pending)
                self._pending, self._shown = 0, now
        elif event.kind == "end" and self.bar is not None:
            if self._pending:
                self.bar.update(self._pending)
                self._pending = 0
            self.bar.set_postfix_str(f"{event.reason}; loss {event.round_loss:.4g}" if event.round_loss is not None
                                     else str(event.reason))
            self.bar.close()
            self.bar = None
