"""Prepare ../shared/data/zh-time for configs/zh-time.yaml (derived files under runs/, never in
the project): time.train split into train (first 90 % of sentences) and dev (last 10 %; the set
has no dev file, and test must not pick epochs), and a character vocab of the train split for
the random-init model (no Chinese BERT weights are available offline).
Usage: python bench/zh_time_data.py [SRC_DIR] [OUT_DIR]"""

import sys
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/zh-time"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "runs/zh-time/data"
    text = (src / "time.train").read_text(encoding="utf-8")
    sentences = [block for block in text.split("\n\n") if block.strip()]
    cut = len(sentences) * 9 // 10
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("\n\n".join(sentences[:cut]) + "\n", encoding="utf-8")
    (out / "dev.txt").write_text("\n\n".join(sentences[cut:]) + "\n", encoding="utf-8")
    chars = sorted({line.split()[0] for block in sentences[:cut] for line in block.splitlines()
                    if line.strip()})
    (out / "vocab.txt").write_text("\n".join(SPECIAL + chars) + "\n", encoding="utf-8")
    print(f"{out}: train {cut} sentences, dev {len(sentences) - cut}, vocab "
          f"{len(SPECIAL) + len(chars)} entries")


if __name__ == "__main__":
    main()
