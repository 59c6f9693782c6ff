"""The data stage: files → sentences (`reader`, `tags`) → wordpiece windows (`wordpieces`) →
batches (`batching`); `dataset` runs the whole stage for a config, and `check` reports what it
would make of a config's data (`wd-train check-data`). No TensorFlow at import."""
