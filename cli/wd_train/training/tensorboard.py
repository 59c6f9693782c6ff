"""TensorBoard event files for a run (`<run_dir>/tensorboard`): lr and loss per step, dev F1 and
mean loss per epoch, all on the optimizer-step axis.

The `tensorboard` package is not a dependency (TensorFlow 2.21 does not pull it in), so
`tf.summary.scalar` is unavailable; the events are written with TensorFlow's own
`tf.summary.write`, tagged for TensorBoard's scalars plugin exactly as `scalar` would tag them.
"""

from __future__ import annotations

from pathlib import Path

from .loop import EpochRecord, Progress


class TensorBoardLog:
    def __init__(self, log_dir: Path, first_step: int = 0):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        self._tf = tf
        self._writer = tf.summary.create_file_writer(str(log_dir))
        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        self._metadata = metadata.SerializeToString()
        self._step = first_step  # a resumed run goes on from its restored step

    def scalar(self, tag: str, value: float, step: int) -> None:
        with self._writer.as_default():
            self._tf.summary.write(tag, self._tf.constant(float(value), self._tf.float32),
                                   step=step, metadata=self._metadata)

    def wrap_progress(self, progress: Progress | None) -> Progress:
        """The loop's per-step callback, also logging that step's loss and learning rate."""

        def logged(phase: str, done: int, total: int, values: dict) -> None:
            if phase == "train":
                self.scalar("lr", values["lr"], self._step)
                self.scalar("loss", values["loss"], self._step)
                self._step += 1
            if progress is not None:
                progress(phase, done, total, values)

        return logged

    def epoch_end(self, record: EpochRecord) -> None:
        self.scalar("dev_f1", record.dev.f1, record.steps)
        self.scalar("epoch_loss", record.loss, record.steps)
        self._writer.flush()

    def close(self, quietly: bool = False) -> None:
        """`quietly`: while another error is on its way out, do not replace it with this one."""
        try:
            self._writer.close()
        except Exception:
            if not quietly:
                raise
