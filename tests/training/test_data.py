import numpy as np
import pandas as pd
import pytest

from training.data import HOLDOUT_FOLD, DataValidationError, assign_folds, read_recordings

GOOD = "id,time,x,y\n1,0,800,0\n1,800,810,1\n2,0,600,0\n"

# (case, file text, expected pieces of the message)
INVALID = [
    ("missing column", "id,time,y\n1,0,0\n", ["column 'x'", "missing"]),
    ("non-numeric x", "id,time,x,y\n1,0,800,0\n1,800,abc,0\n", ["column 'x'", "line 3", "not a number: 'abc'"]),
    ("empty x", "id,time,x,y\n1,0,,0\n", ["column 'x'", "line 2", "empty value"]),
    ("NaN x", "id,time,x,y\n1,0,800,0\n1,800,NaN,0\n", ["column 'x'", "line 3", "not a number: 'NaN'"]),
    ("infinite x", "id,time,x,y\n1,0,inf,0\n", ["column 'x'", "line 2", "not a finite number"]),
    ("zero x", "id,time,x,y\n1,0,800,0\n1,800,0,0\n", ["column 'x'", "line 3", "must be positive"]),
    ("negative x", "id,time,x,y\n1,0,-5,0\n", ["column 'x'", "line 2", "must be positive"]),
    ("label 2", "id,time,x,y\n1,0,800,0\n1,800,800,2\n", ["column 'y'", "line 3", "0 or 1"]),
    ("label 0.5", "id,time,x,y\n1,0,800,0.5\n", ["column 'y'", "line 2", "0 or 1"]),
    ("duplicate id and time", "id,time,x,y\n1,0,800,0\n1,0,810,0\n", ["column 'time'", "line 3", "duplicate"]),
    ("time decreasing", "id,time,x,y\n1,800,800,0\n1,0,810,0\n", ["column 'time'", "line 3", "decreases"]),
    ("empty file", "", ["empty"]),
    ("header only", "id,time,x,y\n", ["no rows"]),
]


@pytest.mark.parametrize("case, text, pieces", INVALID, ids=[case for case, _, _ in INVALID])
def test_invalid_file_rejected(tmp_path, case, text, pieces):
    path = tmp_path / "train.csv"
    path.write_text(text)
    with pytest.raises(DataValidationError) as error:
        read_recordings(path, labelled=True)
    message = str(error.value)
    assert str(path) in message
    for piece in pieces:
        assert piece in message


def test_valid_file_read(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(GOOD)
    frame = read_recordings(path, labelled=True)
    assert frame["x"].tolist() == [800, 810, 600]
    assert frame["y"].tolist() == [0, 1, 0]


def test_implausible_intervals_are_valid(tmp_path):
    path = tmp_path / "test.csv"
    path.write_text("id,time,x\n1,0,12\n1,12,40900\n")
    assert read_recordings(path, labelled=False)["x"].tolist() == [12, 40900]


def labelled_recordings(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for recording in range(n):
        length = int(rng.integers(5, 30))
        marked = rng.random(length) < rng.uniform(0.05, 0.4)
        rows.append(pd.DataFrame({"id": recording + 100, "y": marked.astype(int)}))
    return pd.concat(rows, ignore_index=True)


def test_every_recording_in_one_fold():
    labels = labelled_recordings(50)
    folds = assign_folds(labels, n_folds=5, holdout_fraction=0.2, seed=1)
    assert folds.index.is_unique
    assert sorted(folds.index) == sorted(labels["id"].unique())
    beats_fold = labels["id"].map(folds)
    assert (beats_fold.groupby(labels["id"]).nunique() == 1).all()


def test_holdout_share_and_folds_balanced():
    folds = assign_folds(labelled_recordings(50), n_folds=5, holdout_fraction=0.2, seed=1)
    assert (folds == HOLDOUT_FOLD).sum() == 10
    sizes = folds[folds != HOLDOUT_FOLD].value_counts()
    assert sorted(sizes.index) == [0, 1, 2, 3, 4]
    assert sizes.max() - sizes.min() <= 1


def test_holdout_stratified_by_marked_share():
    labels = labelled_recordings(100)
    folds = assign_folds(labels, n_folds=5, holdout_fraction=0.2, seed=3)
    share = labels.groupby("id")["y"].mean()
    holdout_share = share[folds == HOLDOUT_FOLD]
    # One holdout recording from each fifth of the ranking: the holdout spans the whole range.
    assert holdout_share.min() <= share.quantile(0.05)
    assert holdout_share.max() >= share.quantile(0.95)


def test_folds_depend_on_seed_only():
    labels = labelled_recordings(40)
    first = assign_folds(labels, n_folds=5, holdout_fraction=0.2, seed=7)
    second = assign_folds(labels.sample(frac=1, random_state=0), n_folds=5, holdout_fraction=0.2, seed=7)
    assert first.sort_index().equals(second.sort_index())
