"""`wd-train export RUN_DIR OUT_DIR`: a finished run as a TensorFlow SavedModel that serves raw
text (TF Serving, or `tf.saved_model.load` with only TensorFlow and tensorflow-text imported).

The `serving_default` signature takes `texts` (a batch of strings) and does in the graph what
`wd-train predict --text` does in Python:
- words and wordpieces with tensorflow-text's `BertTokenizer` (BERT's basic tokenizer rules, the
  run's vocab as an asset and its casing; a word over 100 characters is one [UNK], a word that
  cannot be split into known pieces one [UNK]), every word keeping its character offsets;
- windows of at most `max_seq_len` pieces cut at word boundaries exactly as training cut them
  (balanced, greedy), so a long text is tagged whole, every word once;
- the tagger on every window, each word's tag from its first piece;
- entities read from the tags by conlleval's rules (as seqeval reads them).

Outputs are dense, padded per batch (TF Serving cannot return ragged tensors): `tokens`,
`tags` (padding ""), `token_start`/`token_end` (character offsets, padding -1), `num_tokens`;
`entity_type`, `entity_text` (padding ""), `entity_start`/`entity_end` (character offsets),
`num_entities`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..data.wordpieces import CLS, MAX_WORD_CHARS, SEP, UNK, load_vocab
from ..errors import WdTrainError, short_reason
from ..files import errors_name, make_temp_dir, staged_errors
from ..model.decoding import piece_outputs_function, sentence_decoder
from ..run_dir import TaggerFile, read_tagger_file
from .text import CJK_RANGES
from .trained import decoding_constraints, load_trained

SIGNATURE_INPUT = "texts"
OUTPUTS = ("tokens", "tags", "token_start", "token_end", "num_tokens", "entity_type",
           "entity_text", "entity_start", "entity_end", "num_entities")


def _window_ids(word_lengths, capacity: int):
    """Window number of every word of one text: the greedy balanced cut of
    `WordPieceAligner.windows` (aim for equal windows, never more than `capacity` pieces)."""
    import tensorflow as tf

    lengths = tf.cast(word_lengths, tf.int32)
    total = tf.reduce_sum(lengths)
    count = tf.maximum((total + capacity - 1) // capacity, 1)
    target = tf.where(total > 0, (total + count - 1) // count, capacity)
    n = tf.size(lengths)

    def step(i, used, window, ids):
        length = lengths[i]
        new_window = tf.logical_and(used > 0, tf.logical_or(used + length > capacity,
                                                            used >= target))
        window = tf.where(new_window, window + 1, window)
        used = tf.where(new_window, 0, used) + length
        return i + 1, used, window, ids.write(i, window)

    _, _, _, ids = tf.while_loop(
        lambda i, *_: i < n, step,
        (0, tf.constant(0), tf.constant(0), tf.TensorArray(tf.int32, size=n)))
    return ids.stack()


# The character classes of `text.split_words` (BERT's basic tokenizer rules) as RE2 classes:
# a boundary (whitespace as Python's str.isspace() and category Zs see it, control and other
# C* characters, U+FFFD), and a word of its own (ASCII non-alphanumerics, P*, CJK ideographs).
_BOUNDARY = r"[\s\p{Zs}\p{Zl}\p{Zp}\p{C}\x{FFFD}]"
_SINGLE = (r"[!-/:-@\[-`{-~\p{P}"
           + "".join(rf"\x{{{low:X}}}-\x{{{high:X}}}" for low, high in CJK_RANGES) + "]")


class WordPieces:
    """Text → words (with character and byte offsets into the original text) → each word's
    wordpiece ids, in the graph, by `split_words` and `WordPieceAligner`'s rules (tested
    against them word for word)."""

    def __init__(self, vocab_path: Path, lowercase: bool):
        import tensorflow as tf
        import tensorflow_text as tf_text

        vocab = load_vocab(vocab_path)
        self.unk, self.cls, self.sep = vocab[UNK], vocab[CLS], vocab[SEP]
        self.lowercase = lowercase
        self.vocab_table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(str(vocab_path), tf.string,
                                          tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                                          tf.lookup.TextFileIndex.LINE_NUMBER),
            num_oov_buckets=1)
        # casing is done here as keras_bert does it (NFD, marks dropped, lower()): the
        # tokenizer's own lower_case folds with NFKC (ß → ss, ﬁ → fi, full-width → ASCII)
        self.pieces = tf_text.BertTokenizer(
            self.vocab_table, lower_case=False, token_out_type=tf.int64,
            unknown_token=UNK, max_bytes_per_word=4 * MAX_WORD_CHARS)

    def split(self, texts):
        """Words of each text as `split_words` cuts them: (word texts [texts, words] ragged,
        char starts, char ends, byte starts, byte ends), the offsets flat over all words."""
        import tensorflow as tf

        chars, byte_starts = tf.strings.unicode_split_with_offsets(texts, "UTF-8")
        flat = chars.flat_values
        boundary = tf.strings.regex_full_match(flat, _BOUNDARY)
        single = tf.strings.regex_full_match(flat, _SINGLE) & ~boundary
        position = tf.cast(tf.range(tf.size(flat)), tf.int64) - tf.gather(
            chars.row_starts(), chars.value_rowids())  # index of the char in its text
        previous_ends = tf.concat([[True], boundary[:-1] | single[:-1]], axis=0)
        starts = ~boundary & (single | previous_ends | (position == 0))
        word_of_char = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        kept = tf.where(~boundary)[:, 0]
        word = tf.gather(word_of_char, kept)
        texts_of_words = tf.gather(chars.value_rowids(), tf.boolean_mask(kept, tf.gather(
            starts, kept)))
        nrows = tf.cast(tf.size(texts), tf.int64)
        words = tf.RaggedTensor.from_value_rowids(
            tf.strings.reduce_join(tf.RaggedTensor.from_value_rowids(
                tf.gather(flat, kept), word), axis=1),
            texts_of_words, nrows=nrows)
        char_start = tf.math.unsorted_segment_min(tf.gather(position, kept), word,
                                                  tf.size(words.flat_values))
        char_end = tf.math.unsorted_segment_max(tf.gather(position, kept), word,
                                                tf.size(words.flat_values)) + 1
        byte_start = tf.math.unsorted_segment_min(
            tf.gather(byte_starts.flat_values, kept), word, tf.size(words.flat_values))
        byte_end = byte_start + tf.cast(tf.strings.length(words.flat_values), tf.int64)
        return (words, tf.cast(char_start, tf.int32), tf.cast(char_end, tf.int32), byte_start,
                byte_end)

    def word_piece_ids(self, word_text):
        """[words, pieces] ragged: one [UNK] for a word that has an unknown piece or no piece,
        or is over MAX_WORD_CHARS characters (the tokenizer's own limit counts bytes)."""
        import tensorflow as tf

        normalized = word_text
        if self.lowercase:
            import tensorflow_text as tf_text

            normalized = tf_text.normalize_utf8(normalized, "NFD")
            normalized = tf.strings.regex_replace(normalized, r"\p{Mn}", "")
            normalized = tf.strings.lower(normalized, encoding="utf-8")
        word_pieces = self.pieces.tokenize(normalized).merge_dims(1, 2)
        lengths = word_pieces.row_lengths()
        has_unknown = tf.reduce_any(tf.equal(word_pieces, self.unk), axis=1)
        chars = tf.strings.length(word_text, unit="UTF8_CHAR")
        unknown = (chars > MAX_WORD_CHARS) | has_unknown | (lengths == 0)
        new_lengths = tf.where(unknown, tf.ones_like(lengths), lengths)
        new_starts = tf.cumsum(new_lengths, exclusive=True)
        values = tf.fill([tf.reduce_sum(new_lengths)], tf.constant(self.unk, tf.int64))
        positions = tf.ragged.range(new_starts, new_starts + new_lengths).flat_values
        kept = tf.boolean_mask(word_pieces.values, tf.repeat(~unknown, lengths))
        values = tf.tensor_scatter_nd_update(
            values, tf.expand_dims(tf.boolean_mask(positions, tf.repeat(~unknown, new_lengths)),
                                   1), kept)
        return tf.RaggedTensor.from_row_lengths(values, new_lengths)


class _Tagger:
    """Builds the serving function around a reloaded tagger (a tf.Module once saved)."""

    def __init__(self, model, tagger: TaggerFile, vocab_path: Path,
                 constrained: bool | None = None):
        import tensorflow as tf

        self.module = tf.Module()
        self.module.model = model
        self.wordpieces = WordPieces(vocab_path, tagger.lowercase)
        # the module tracks what the SavedModel must hold: the vocab table (its file becomes
        # an asset) and the tokenizer
        self.module.vocab_table = self.wordpieces.vocab_table
        self.module.tokenizer = self.wordpieces.pieces
        self.labels = tf.constant(tagger.labels)
        self.num_labels = len(tagger.labels)
        # the run's decoder (arg-max, or Viterbi over each text: CRF head, constrained
        # decoding), unless `constrained` overrides the constraints
        constraints = decoding_constraints(tagger, constrained)
        self.piece_outputs = piece_outputs_function(model, constraints)
        self.decode = sentence_decoder(model, constraints)
        self.cls, self.sep = self.wordpieces.cls, self.wordpieces.sep
        self.capacity = tagger.max_seq_len - 2
        self.module.serve = tf.function(
            self.serve, input_signature=[tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)])

    def serve(self, texts):
        import tensorflow as tf

        words, char_start, char_end, starts_flat, ends_flat = self.wordpieces.split(texts)
        word_text = words.flat_values
        word_pieces = self.wordpieces.word_piece_ids(word_text)[:, : self.capacity]
        lengths = word_pieces.row_lengths()

        # windows: per text the greedy balanced cut, then numbered across the batch
        words_per_text = words.row_lengths()
        lengths_by_text = tf.RaggedTensor.from_row_lengths(lengths, words_per_text)
        local = tf.map_fn(lambda row: _window_ids(row, self.capacity), lengths_by_text,
                          fn_output_signature=tf.RaggedTensorSpec([None], tf.int32))
        windows_per_text = tf.reduce_max(local, axis=1) + 1  # 0 windows for an empty text
        windows_per_text = tf.where(words_per_text > 0, windows_per_text, 0)
        first_window = tf.cumsum(windows_per_text, exclusive=True)
        window_of_word = tf.cast(local.flat_values, tf.int64) + tf.gather(
            tf.cast(first_window, tf.int64), local.value_rowids())
        num_windows = tf.reduce_sum(windows_per_text)

        # token ids of every window: [CLS] pieces… [SEP], padded with 0 ([PAD])
        by_window = tf.RaggedTensor.from_value_rowids(word_pieces, window_of_word,
                                                      nrows=tf.cast(num_windows, tf.int64))
        body = by_window.merge_dims(1, 2)
        rows = tf.shape(body.row_lengths())[0]
        cls = tf.fill([rows, 1], tf.constant(self.cls, tf.int64))
        sep = tf.fill([rows, 1], tf.constant(self.sep, tf.int64))
        token_ids = tf.concat([cls, body, sep], axis=1).to_tensor(0)
        # each word's first piece: 1 ([CLS]) + the pieces of the words before it in its window
        offsets = tf.cumsum(lengths, exclusive=True)
        window_start = tf.gather(offsets, tf.cast(by_window.row_starts(), tf.int32))
        first_piece = 1 + offsets - tf.gather(window_start, window_of_word)

        # a batch without a word (empty or blank texts, no texts): keras_bert's attention
        # cannot take zero windows, and there is nothing to tag
        logits = tf.cond(
            num_windows > 0,
            lambda: self.module.model([tf.cast(token_ids, tf.int32),
                                       tf.zeros_like(token_ids, tf.int32)], training=False),
            lambda: tf.zeros([0, tf.shape(token_ids)[1], self.num_labels]))
        word_positions = tf.stack([window_of_word, tf.cast(first_piece, tf.int64)], axis=1)
        at_words = tf.gather_nd(self.piece_outputs(logits), word_positions)
        if self.decode is None:  # arg-max: the tag ids themselves
            label_ids = at_words
        else:  # Viterbi over each text's words, whichever windows they came from
            scores = tf.RaggedTensor.from_row_lengths(at_words, words_per_text).to_tensor()
            decoded = self.decode(scores, tf.cast(words_per_text, tf.int32))
            label_ids = tf.RaggedTensor.from_tensor(decoded, lengths=words_per_text).flat_values
        tags = tf.gather(self.labels, label_ids)
        return self._outputs(texts, words_per_text, word_text, tags, char_start, char_end,
                             starts_flat, ends_flat)

    def _outputs(self, texts, words_per_text, word_text, tags, char_start, char_end,
                 byte_start, byte_end):
        """Dense outputs per text: its words and tags, and its entities (conlleval's rules)."""
        import tensorflow as tf

        def per_text(values, default):
            return tf.RaggedTensor.from_row_lengths(values, words_per_text).to_tensor(default)

        text_index = tf.RaggedTensor.from_row_lengths(
            tf.zeros_like(tags, tf.int64), words_per_text).value_rowids()
        prefix = tf.strings.substr(tags, 0, 1)
        entity_type = tf.strings.regex_replace(tags, r"^[BIES]-", "")
        position = tf.range(tf.size(tags, out_type=tf.int64)) - tf.gather(
            tf.cumsum(words_per_text, exclusive=True), text_index)
        previous = tf.concat([[""], tags[:-1]], axis=0)
        previous = tf.where(position > 0, previous, "O")
        previous_prefix = tf.strings.substr(previous, 0, 1)
        previous_type = tf.strings.regex_replace(previous, r"^[BIES]-", "")
        inside = tags != "O"
        begins = inside & (
            (prefix == "B") | (prefix == "S") | (previous == "O") | (previous_prefix == "E")
            | (previous_prefix == "S") | (entity_type != previous_type))
        entity_of_word = tf.cumsum(tf.cast(begins, tf.int64)) - 1
        num_entities_total = tf.reduce_sum(tf.cast(begins, tf.int64))
        member = tf.where(inside)[:, 0]
        segment = tf.gather(entity_of_word, member)
        n = num_entities_total

        def reduce(values, fn):
            return fn(tf.gather(values, member), segment, num_segments=n)

        e_char_start = reduce(char_start, tf.math.unsorted_segment_min)
        e_char_end = reduce(char_end, tf.math.unsorted_segment_max)
        e_byte_start = reduce(byte_start, tf.math.unsorted_segment_min)
        e_byte_end = reduce(byte_end, tf.math.unsorted_segment_max)
        begin_words = tf.where(begins)[:, 0]
        e_type = tf.gather(entity_type, begin_words)
        e_text_index = tf.gather(text_index, begin_words)
        e_text = tf.strings.substr(tf.gather(texts, e_text_index), e_byte_start,
                                   e_byte_end - e_byte_start)
        entities_per_text = tf.math.bincount(tf.cast(e_text_index, tf.int32),
                                             minlength=tf.size(texts), dtype=tf.int64)

        def per_entity(values, default):
            return tf.RaggedTensor.from_value_rowids(
                values, e_text_index, nrows=tf.cast(tf.size(texts), tf.int64)).to_tensor(default)

        return {
            "tokens": per_text(word_text, ""),
            "tags": per_text(tags, ""),
            "token_start": per_text(char_start, tf.constant(-1, tf.int32)),
            "token_end": per_text(char_end, tf.constant(-1, tf.int32)),
            "num_tokens": words_per_text,
            "entity_type": per_entity(e_type, ""),
            "entity_text": per_entity(e_text, ""),
            "entity_start": per_entity(e_char_start, tf.constant(-1, tf.int32)),
            "entity_end": per_entity(e_char_end, tf.constant(-1, tf.int32)),
            "num_entities": entities_per_text,
        }


# What tf.saved_model.save writes: a folder holding only these is an export, safe to replace.
SAVED_MODEL_ENTRIES = {"saved_model.pb", "variables", "assets", "fingerprint.pb",
                       "keras_metadata.pb"}


def _check_output(out_dir: Path, run_dir: Path, overwrite: bool) -> None:
    """OUT must be new, an empty folder, or (with --overwrite) an earlier SavedModel: never a
    file or device, a symlink, the current folder, the run or a folder holding it, or a folder
    with anything a SavedModel does not have — `--overwrite` replaces exports, nothing else."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise WdTrainError(f"{out_dir}: exists and is not a folder; give a new folder for the "
                           "SavedModel")
    entries = {entry.name for entry in out_dir.iterdir()}
    if not entries:
        return
    here, out, run = Path.cwd().resolve(), out_dir.resolve(), run_dir.resolve()
    if out == here or out in here.parents or out == run or out in run.parents:
        raise WdTrainError(f"{out_dir}: holds the current folder or the run; give a new folder "
                           "for the SavedModel")
    if "saved_model.pb" not in entries or not entries <= SAVED_MODEL_ENTRIES:
        raise WdTrainError(f"{out_dir}: exists and is not a SavedModel folder "
                           f"({', '.join(sorted(entries - SAVED_MODEL_ENTRIES)[:3]) or 'no saved_model.pb'}"
                           "); --overwrite only replaces an earlier export")
    if not overwrite:
        raise WdTrainError(f"{out_dir}: holds a SavedModel; pass --overwrite to replace it")


def export_run(run_dir: Path | str, out_dir: Path | str, *, overwrite: bool = False,
               constrained: bool | None = None, allow_unfinished: bool = False) -> Path:
    """Write the SavedModel of a finished run into `out_dir` (whole: written to a temporary
    folder beside it, then renamed). `constrained`: None decodes as the run did; True/False
    with/without the tag scheme's constraints (as `predict --constrained`).
    `allow_unfinished`: an unfinished run's latest weights (see `load_trained`)."""
    import tensorflow as tf

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    tagger = read_tagger_file(run_dir, allow_unfinished)
    if tagger.data_format != "conll":
        raise WdTrainError(f"{run_dir}: a {tagger.data_format!r} run (one character per token) "
                           "cannot be exported yet; `wd-train predict --text` tags raw text")
    _check_output(out_dir, run_dir, overwrite)
    vocab_path = tagger.vocab_path(run_dir)
    if not vocab_path.exists():
        raise WdTrainError(f"{run_dir}/model.json: vocab {vocab_path} not found")
    model, _ = load_trained(run_dir, tagger, allow_unfinished=allow_unfinished)
    serving = _Tagger(model, tagger, vocab_path, constrained)
    signature = serving.module.serve.get_concrete_function()
    with errors_name(out_dir):
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    # written whole beside OUT_DIR, then renamed; readable as the umask says (TF Serving may
    # run as another user), not mkdtemp's 0700
    tmp = make_temp_dir(out_dir.parent, out_dir.name)
    try:
        with staged_errors(tmp, out_dir):
            tf.saved_model.save(serving.module, str(tmp),
                                signatures={"serving_default": signature})
        with errors_name(out_dir):
            if out_dir.exists():
                shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
            tmp.rename(out_dir)
    except tf.errors.OpError as exc:  # TensorFlow's own write errors (a full disk)
        shutil.rmtree(tmp, ignore_errors=True)
        raise WdTrainError(f"{out_dir}: cannot write the SavedModel ({short_reason(exc)})"
                           ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
