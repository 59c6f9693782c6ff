"""Using a finished run: reload its tagger (`trained`), tag or score files and raw text with it
(`predict`, `text`), and export it as a SavedModel that takes raw texts (`export`). Imports
neither the training loop nor TensorBoard."""
