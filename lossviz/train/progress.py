"""The progress bar callback (tqdm: a widget in a notebook, text in a terminal)."""
from __future__ import annotations

__all__ = ["ProgressBar"]


class ProgressBar:
    """A NetTrain callback showing round, loss and examples/s with tqdm.

    Updated once per round (and at most every 0.1 s) so it costs nothing
    measurable per batch: it asks NetTrain for no batch events.
    """

    wants_batches = False

    def __init__(self, **tqdm_kwargs):
        self.tqdm_kwargs = tqdm_kwargs
        self.bar = None

    def __call__(self, event):
        if event.kind == "start":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=event.max_rounds, unit="round", desc="NetTrain", leave=True,
                            mininterval=0.1, **self.tqdm_kwargs)
        elif event.kind == "round" and self.bar is not None:
            post = {"loss": f"{event.round_loss:.4g}"}
            if event.validation_loss is not None:
                post["val"] = f"{event.validation_loss:.4g}"
            if event.examples_per_second:
                post["ex/s"] = f"{event.examples_per_second:,.0f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        elif event.kind == "end" and self.bar is not None:
            self.bar.set_postfix_str(f"{event.reason}; loss {event.round_loss:.4g}" if event.round_loss is not None
                                     else str(event.reason))
            self.bar.close()
            self.bar = None
