"""A sparse-entity NER set made from CoNLL-2003 (issue 20): about 5 % of tokens inside an entity
(CoNLL-2003 has ~17 %), ~3 400 training sentences, where the BiLSTM-CRF recipe tuned on full
CoNLL collapsed to all-`O`. Derived files go under runs/ (never into the project).

Every sentence without an entity is kept; a sentence with entities is kept only while the running
share of entity tokens stays at or below the target, so entity sentences are thinned evenly
through the file (deterministic: no random draw). Train stops at LIMIT sentences; dev and test
are thinned the same way, whole.
Usage: python bench/sparse_conll_data.py [SRC_DIR] [OUT_DIR] [--share 0.05] [--limit 3400]"""

import argparse
from pathlib import Path


def sentences(path: Path) -> list[list[str]]:
    """Blocks of non-empty lines, -DOCSTART- markers dropped."""
    blocks, block = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if block:
                blocks.append(block)
            block = []
        else:
            block.append(line)
    if block:
        blocks.append(block)
    return blocks


def thin(blocks: list[list[str]], share: float, limit: int | None) -> tuple[list, int, int]:
    kept, tokens, inside = [], 0, 0
    for block in blocks:
        entity_tokens = sum(line.split()[-1] != "O" for line in block)
        if entity_tokens and (inside + entity_tokens) > share * (tokens + len(block)):
            continue
        kept.append(block)
        tokens += len(block)
        inside += entity_tokens
        if limit is not None and len(kept) >= limit:
            break
    return kept, tokens, inside


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", type=Path,
                        default=root.parent / "shared/data/conll2003")
    parser.add_argument("out", nargs="?", type=Path, default=root / "runs/sparse-conll/data")
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=3400)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, limit in (("eng.train", args.limit), ("eng.testa", None), ("eng.testb", None)):
        kept, tokens, inside = thin(sentences(args.src / name), args.share, limit)
        text = "\n\n".join("\n".join(block) for block in kept) + "\n"
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"{args.out / name}: {len(kept)} sentences, {tokens} tokens, "
              f"{inside / tokens:.1%} inside an entity")


if __name__ == "__main__":
    main()
