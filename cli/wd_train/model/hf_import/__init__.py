"""`wd-train import-hf`: Hugging Face BERT weights → the Google-format folder keras_bert loads.

`source` finds and reads the HF folder, `mapping` says which tensor goes where, `convert`
writes the folder, `numpy_bert` is an independent NumPy BERT and `conversion_check` compares
the two.
"""

from .conversion_check import check_conversion
from .convert import ImportResult, import_hf
from .numpy_bert import numpy_bert_forward
from .source import resolve_source

__all__ = ["ImportResult", "check_conversion", "import_hf", "numpy_bert_forward",
           "resolve_source"]
