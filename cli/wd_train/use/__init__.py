"""Using a finished run: reload its tagger (`trained`) and tag or score files with it
(`predict`). Imports neither the training loop nor TensorBoard."""
