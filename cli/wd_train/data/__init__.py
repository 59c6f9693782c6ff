"""The data stage: files → sentences (`reader`, `tags`) → wordpiece windows (`wordpieces`) →
batches (`batching`); `dataset` runs the whole stage for a config. No TensorFlow at import."""
