"""The README's Python example runs as written."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_block_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "the README has one Python example"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102
    search, test = namespace["search"], namespace["test"]
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_stoi"]).all()
    assert [len(e) for e in namespace["enhanced"]] == [len(y) for y in test.noisy]
    assert namespace["masks"][0].shape[1] == 64
