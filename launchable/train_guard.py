"""Loss guard for the Finnish fine-tune: a Lightning callback that train_finnish.sh adds to
fish-speech's training (hydra: +callbacks.loss_guard._target_=train_guard.LossGuard).

It stops the training, and says why in a small JSON status file the entrypoint reads, when

* a training loss is not finite (NaN or infinite): verdict "nonfinite". The weights after
  such a step are garbage, and the last checkpoint would only lead to the same place, so
  the entrypoint exits 13 (not retried) instead of resuming into it again;
* the first steps of a fresh run (not a resumed one) show the random-weights symptom: the
  mean of the first `first_steps` losses is above `limit`: verdict "random_weights".

The limit. fish-speech's loss is the cross entropy of the next text/semantic token (over the
model's `vocab_size`) plus that of the codebook tokens (over `codebook_size`). A model that
knows nothing guesses uniformly: loss ln(vocab_size) + ln(codebook_size), 20.3 for
S1-mini's config (155776 and 4096; randomly re-initialised weights log about 22 in
fishaudio/fish-speech#1163); loaded weights start near 8 even on a language S1-mini was not
trained on, because the codebook half is language-independent. limit="auto" takes 0.75 of the
uniform loss of the model being trained (15.2 for S1-mini), so it follows the model's own
config instead of a constant; a number sets it; "off" disables the check (the non-finite
check stays).

Every `every` steps, and at every verdict, the status file is rewritten (atomically) with
the step, the last loss, the first losses and the limit, so `train_finnish.sh` and a person
can see what the guard saw.
"""

import json
import math
import os

from lightning.pytorch.callbacks import Callback


class TrainingStopped(RuntimeError):
    """Raised to end the training; the status file says why."""


class LossGuard(Callback):
    def __init__(self, status_file, limit="auto", first_steps=5, ratio=0.75, every=10):
        super().__init__()
        self.status_file = str(status_file)
        self.limit_arg = str(limit)
        self.first_steps = int(first_steps)
        self.ratio = float(ratio)
        self.every = max(1, int(every))
        self.first = []
        self.fresh = None
        self.limit = None
        self.uniform = None
        self.last = None

    # -- helpers ---------------------------------------------------------------------
    def _write(self, verdict, step, loss, **extra):
        doc = {
            "verdict": verdict,
            "step": step,
            "loss": loss if loss is None or math.isfinite(loss) else str(loss),
            "first_losses": self.first,
            "first_mean": sum(self.first) / len(self.first) if self.first else None,
            "limit": self.limit,
            "uniform_loss": self.uniform,
            "fresh_start": self.fresh,
        }
        doc.update(extra)
        tmp = self.status_file + ".tmp"
        os.makedirs(os.path.dirname(os.path.abspath(self.status_file)), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, self.status_file)

    @staticmethod
    def _loss(outputs):
        if isinstance(outputs, dict):
            outputs = outputs.get("loss")
        if outputs is None:
            return None
        try:
            return float(outputs.detach().float().item())
        except AttributeError:
            return float(outputs)

    # -- Lightning hooks -------------------------------------------------------------
    def on_train_start(self, trainer, pl_module):
        config = getattr(getattr(pl_module, "model", None), "config", None)
        vocab = getattr(config, "vocab_size", None)
        codebook = getattr(config, "codebook_size", None)
        if vocab and codebook:
            self.uniform = round(math.log(vocab) + math.log(codebook), 3)
        if self.limit_arg == "auto":
            self.limit = round(self.ratio * self.uniform, 3) if self.uniform else None
        elif self.limit_arg in ("off", "none", ""):
            self.limit = None
        else:
            self.limit = float(self.limit_arg)
        self.fresh = trainer.global_step == 0
        if trainer.is_global_zero:
            self._write("running", trainer.global_step, None)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = self._loss(outputs)
        if loss is None:
            return
        step = trainer.global_step
        self.last = loss
        verdict, why = None, None
        if not math.isfinite(loss):
            verdict, why = "nonfinite", f"the training loss is {loss} at step {step}"
        elif self.fresh and len(self.first) < self.first_steps:
            self.first.append(round(loss, 4))
            mean = sum(self.first) / len(self.first)
            if len(self.first) == self.first_steps and self.limit is not None and mean > self.limit:
                verdict = "random_weights"
                why = (f"the first {self.first_steps} losses average {mean:.2f}, above "
                       f"{self.limit} (uniform guessing: {self.uniform})")
        # Every rank of a multi-GPU run must stop together, or the others wait for ever
        # in the next all-reduce: any rank's verdict is everybody's.
        stop = trainer.strategy.reduce_boolean_decision(verdict is not None, all=False)
        if stop:
            if trainer.is_global_zero:
                self._write(verdict or "stopped_by_other_rank", step, loss)
            raise TrainingStopped(why or "another rank stopped the training")
        if trainer.is_global_zero and (step % self.every == 0 or step <= self.first_steps):
            self._write("running", step, loss)

    def on_train_end(self, trainer, pl_module):
        if trainer.is_global_zero:
            self._write("finished", trainer.global_step, self.last)
