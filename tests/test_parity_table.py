"""The parity table of the "Pretrained weights" guide (issue 20): ``make parity`` writes it
from tests/test_equivalence.py and tests/test_keras_parity.py, which take minutes and
PyTorch; these checks read the checked-in file, so that a pair or size added to those tests
without a new table, or a table over the tolerance, fails in every run.
"""

from pathlib import Path

import test_equivalence
import test_keras_parity
from conftest import PARITY_TOLERANCE, ParityRow, parity_table, read_parity_table

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "snippets" / "parity.md"


def test_the_table_has_a_row_for_every_pair_and_size_within_the_tolerance():
    rows = read_parity_table(TABLE)
    keys = [row.key for row in rows]
    expected = {*test_equivalence.parity_keys(), *test_keras_parity.parity_keys()}
    assert len(expected) == 2 * (16 + 9)  # every reference pair at two sizes
    assert len(keys) == len(set(keys)), "a comparison appears twice"
    assert not expected - set(keys), f"run `make parity`; missing: {expected - set(keys)}"
    assert not set(keys) - expected, f"run `make parity`; stale: {set(keys) - expected}"
    over = [row for row in rows if not row.relative <= PARITY_TOLERANCE]  # NaN is over too
    assert not over, over


def test_the_table_reads_back_what_was_written(tmp_path):
    rows = [
        ParityRow("resnet50(variant='v1')", "keras.applications.ResNet50", 97, 0.0, 0.0),
        ParityRow("resnet18", "torchvision.models.resnet18", 224, 3.2e-05, 2.5e-06),
        ParityRow("resnet101", "torchvision.models.resnet101", 97, 1e-05, 1e-06),
    ]
    path = tmp_path / "parity.md"
    path.write_text(parity_table(rows, "keras 3"))
    read = read_parity_table(path)
    # keras.applications' rows first, then torchvision's in model order (18 before 101).
    assert [row.key for row in read] == [rows[0].key, rows[1].key, rows[2].key]
    assert [(row.max_abs, row.relative) for row in read] == [
        (row.max_abs, row.relative) for row in rows
    ]
    assert "| `resnet50(variant='v1')` | `keras.applications.ResNet50` | 97 | 0 | 0 |" in (
        path.read_text()
    )
