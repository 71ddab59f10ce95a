"""The progress bar callback (tqdm: a widget in a notebook, text in a terminal)."""
from __future__ import annotations

import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """A NetTrain callback showing round, loss and examples/s with tqdm.

    The bar counts rounds when the run has a round limit, and seconds when it
    has only a time goal (``NetTrain(..., time_goal=8)`` shows 8 s, not a
    billion rounds); with neither it counts rounds without a total.
    Redrawn at most every ``interval`` seconds (and at the end), so it costs
    nothing measurable per batch: it asks for no batch events, and the rounds
    in between only count.
    """

    wants_batches = False

    def __init__(self, interval=0.1, **tqdm_kwargs):
        self.interval = interval
        self.tqdm_kwargs = tqdm_kwargs
        self.bar = None
        self._pending, self._shown = 0, 0.0
        self._seconds = False

    def __call__(self, event):
        if event.kind == "start":
            from tqdm.auto import tqdm

            self._seconds = not event.max_rounds and bool(event.time_goal)
            if self._seconds:
                self.bar = tqdm(total=round(event.time_goal, 1), unit="s", desc="NetTrain", leave=True,
                                mininterval=self.interval, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s "
                                "[{elapsed}<{remaining}{postfix}]", **self.tqdm_kwargs)
            else:
                self.bar = tqdm(total=event.max_rounds or None, unit="round", desc="NetTrain", leave=True,
                                mininterval=self.interval, **self.tqdm_kwargs)
            self._pending, self._shown, self._start_elapsed = 0, time.monotonic(), event.elapsed
        elif event.kind == "round" and self.bar is not None:
            self._pending += 1
            now = time.monotonic()
            if now - self._shown >= self.interval or event.round == event.max_rounds:
                post = {"round": event.round} if self._seconds else {}
                post["loss"] = f"{event.round_loss:.4g}"
                if event.validation_loss is not None:
                    post["val"] = f"{event.validation_loss:.4g}"
                if event.examples_per_second:
                    post["ex/s"] = f"{event.examples_per_second:,.0f}"
                self.bar.set_postfix(post, refresh=False)
                self._advance(event)
                self._pending, self._shown = 0, now
        elif event.kind == "end" and self.bar is not None:
            if self._pending or self._seconds:
                self._advance(event)
                self._pending = 0
            self.bar.set_postfix_str(f"{event.reason}; loss {event.round_loss:.4g}" if event.round_loss is not None
                                     else str(event.reason))
            self.bar.close()
            self.bar = None

    def _advance(self, event):
        if self._seconds:
            self.bar.n = round(min(max(event.elapsed - self._start_elapsed, 0.0), self.bar.total), 1)
            self.bar.update(0)
        else:
            self.bar.update(self._pending)
