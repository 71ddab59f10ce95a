"""The learning-rate range test: how NetTrain chooses a learning rate when none is given."""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["range_test", "RANGE_TEST_STEPS", "RANGE_TEST_SPAN", "RANGE_TEST_SECONDS"]

#: the range test: steps, and its rates relative to the method's default learning rate
RANGE_TEST_STEPS = 100
RANGE_TEST_SPAN = (1e-2, 1e3)
#: ... and its time limit in seconds
RANGE_TEST_SECONDS = 2.0


def range_test(engine, optimizer, step, train, scales, *, batch_size, random_seed=None, steps=RANGE_TEST_STEPS,
               max_seconds=RANGE_TEST_SECONDS):
    """Choose a learning rate by a short range test; returns what it found.

    The test (L. Smith 2017, "Cyclical learning rates", section 3.3; fastai's
    ``lr_find``) trains the step's parameters for ``steps`` batches with a rate
    growing geometrically from ``default/100`` to ``default*1000`` (the
    optimizer's default rate: ADAM 1e-5 .. 1) and records the batch losses,
    smoothed by an exponential moving average (factor 0.9, bias-corrected). It
    stops early when the smoothed loss exceeds 4 times its minimum (or is not
    finite), or after ``max_seconds`` (None: no limit, and the same seed then
    always gives the same choice). The rate chosen is the one at the smoothed
    minimum divided by 10 (where the loss still falls steadily), clipped to the
    tested range; when the loss never fell below 99% of its first value, the
    optimizer's default is kept. Then the parameters and the optimizer are
    restored, so training starts from the same initial net; the test's batches
    come from their own random stream (``[random_seed, 7919]``), so the training
    order is unchanged.

    engine : the training step (its ``leaves`` are trained, then restored).
    optimizer : the optimizer (restarted afterwards).
    step : ``step(batch) -> (sub-losses, gradients)`` (the session's, which handles ragged data).
    train : ``{port: array}`` training data, examples on axis 0.
    scales : (n_sub_losses,) the scales of the sub-losses.

    Returns ``{"rates", "losses", "smoothed", "chosen", "rule", "seconds"}``.
    """
    t0 = time.perf_counter()
    leaves = engine.leaves
    saved = [a.copy() for a in leaves]
    default = optimizer.default_learning_rate
    rates = np.geomspace(default * RANGE_TEST_SPAN[0], default * RANGE_TEST_SPAN[1], steps)
    rng = np.random.default_rng(None if random_seed is None else [random_seed, 7919])
    n = len(next(iter(train.values())))
    losses, smoothed, avg, best = [], [], 0.0, math.inf
    perm, pos = rng.permutation(n), 0
    optimizer.start(leaves)
    with np.errstate(all="ignore"):
        for i, lr in enumerate(rates):
            if pos >= n:
                perm, pos = rng.permutation(n), 0
            idx = perm[pos:pos + batch_size]
            pos += batch_size
            subs, grads = step({p: np.take(a, idx, axis=0) for p, a in train.items()})
            loss = float(np.asarray(subs, dtype=float) @ scales)
            if not math.isfinite(loss):
                break
            avg = 0.9 * avg + 0.1 * loss
            smooth = avg / (1 - 0.9 ** (i + 1))
            losses.append(loss)
            smoothed.append(smooth)
            if i >= 5 and smooth > 4 * best:
                break
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
            best = min(best, smooth)
            optimizer.step(leaves, grads, float(lr))
    for leaf, good in zip(leaves, saved):
        leaf[...] = good
    optimizer.start(leaves)
    if smoothed and min(smoothed) < 0.99 * smoothed[0]:
        at = int(np.argmin(smoothed))
        chosen = float(np.clip(rates[at] / 10, rates[0], rates[-1]))
        rule = f"the smoothed loss was lowest at rate {rates[at]:.3g}; a tenth of it"
    else:
        chosen = default
        rule = f"the loss did not fall during the test; the method's default {default:g}"
    return {"rates": rates[:len(losses)].tolist(), "losses": losses, "smoothed": smoothed, "chosen": chosen,
            "rule": rule, "seconds": time.perf_counter() - t0}
