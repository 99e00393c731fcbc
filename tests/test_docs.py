"""The documentation's code runs: quickstart blocks, user-guide blocks and the example scripts.

Every ``.. code-block:: python`` of ``docs/quickstart.rst`` is executed in
order, in one namespace, in a temporary working folder. The cheap user-guide
pages are executed the same way. Each script in ``examples/`` runs as a
subprocess with its tiny default settings. (The Sphinx build itself,
``docs/build.sh``, is run by CI, not here.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

_BLOCK = re.compile(r"^\.\. code-block:: python\n(?:[ ]+:.*\n)*\n((?:[ ]{3,}.*\n|[ \t]*\n)+)", re.M)


def python_blocks(page):
    """The dedented ``.. code-block:: python`` bodies of a docs page, in order."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [textwrap.dedent(body).strip() + "\n" for body in _BLOCK.findall(text)]


@pytest.fixture
def one_torch_thread():
    """Train with one torch thread (restored afterwards).

    Under ``pytest -n 2`` on two cores, two workers with two intra-op threads
    each oversubscribe the CPU; the tiny networks here then spend most of
    their time waiting on each other's threads (measured: the grid-search
    example takes 140 s with the default threads on a loaded 2-core machine,
    52 s with one).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_blocks(page, folder, monkeypatch):
    """Execute a page's Python blocks in order, in one namespace, inside ``folder``."""
    monkeypatch.chdir(folder)
    namespace = {"__name__": "__docs__"}
    blocks = python_blocks(page)
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page}[block {i}]", "exec"), namespace)  # noqa: S102
    return blocks, namespace


def test_block_extraction_finds_every_python_block():
    text = (
        "Intro\n\n.. code-block:: python\n\n    a = 1\n\n    b = a + 1\n\nprose\n\n"
        ".. code-block:: bash\n\n    echo no\n\n.. code-block:: python\n   :caption: x\n\n"
        "   c = 3\n"
    )
    page = DOCS / "_test_extraction.rst"
    page.write_text(text, encoding="utf-8")
    try:
        assert python_blocks(page.name) == ["a = 1\n\nb = a + 1\n", "c = 3\n"]
    finally:
        page.unlink()


@pytest.mark.slow
def test_quickstart_blocks_run(tmp_path, monkeypatch, one_torch_thread):
    blocks, ns = run_blocks("quickstart.rst", tmp_path, monkeypatch)
    assert len(blocks) >= 6
    # the page's promises: masks per utterance, enhanced waveforms of input length,
    # a scored table, files written
    train, test, enhanced = ns["train"], ns["test"], ns["enhanced"]
    assert len(ns["Y"]) == len(train) and ns["Y"][0].shape == ns["features"][0].shape
    assert len(enhanced) == len(test)
    assert all(e.shape == n.shape for e, n in zip(enhanced, test.noisy))
    table = ns["table"]
    assert list(table.index) == list(test.meta["id"])
    assert table[["stoi", "pesq", "stoi_noisy", "pesq_noisy"]].notna().all().all()
    assert table["stoi"].between(0, 1).all()
    written = sorted((ns["out"] / "enhanced").glob("*.wav"))
    assert len(written) == len(test)
    y, sr = sf.read(written[0], dtype="float32")
    assert sr == 16000 and y.shape == enhanced[0].shape


@pytest.mark.parametrize(
    "page", ["features.rst", "targets.rst", "networks.rst", "evaluation.rst",
             "model_files.rst", "grid_search.rst", "gpu_and_cluster.rst"]
)
def test_user_guide_blocks_run(page, tmp_path, monkeypatch, one_torch_thread):
    blocks, ns = run_blocks(page, tmp_path, monkeypatch)
    assert blocks, f"{page} has no Python code block"
    if page == "model_files.rst":
        restored = ns["restored"]
        assert np.allclose(restored.predict(ns["noisy"][:1])[0],
                           ns["enh"].predict(ns["noisy"][:1])[0], atol=1e-6)
    if page == "evaluation.rst":
        assert np.isnan(ns["table"].loc[2, "stoi"]) and "too short" in ns["table"].loc[2, "error"]


def test_data_page_names_only_existing_loaders():
    # data.rst's blocks need local corpora (TIMIT, MUSAN), so they are not run;
    # check at least that every name they import exists.
    for code in python_blocks("data.rst"):
        for module, names in re.findall(r"^from (sksep[\w.]*) import (.+)$", code, re.M):
            for name in (n.strip() for n in names.split(",")):
                namespace = {}
                exec(f"from {module} import {name}", namespace)  # noqa: S102 (the import itself)
                assert name in namespace, f"{module}.{name} does not exist"


def run_example(name, folder, *args, timeout=600):
    # one torch/OpenMP thread per script: see ``one_torch_thread``
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=folder, capture_output=True, text=True, timeout=timeout, env=env,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# compare_models.py is ``sksep compare`` (the full model comparison, minutes even
# with --quick); it is not run here.
NOT_RUN_HERE = {"compare_models.py"}


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py")} - NOT_RUN_HERE
    tested = {"quickstart.py", "plot_features.py", "grid_search.py", "enhance_file.py"}
    assert scripts <= tested, f"examples without a test: {sorted(scripts - tested)}"


def test_plot_features_example(tmp_path):
    out = run_example("plot_features.py", tmp_path)
    stoi = {m[0]: (float(m[1]), float(m[2])) for m in re.findall(
        r"(STFT|cochleagram)\s+oracle IRM: STOI ([\d.]+) \(noisy input ([\d.]+)\)", out)}
    assert set(stoi) == {"STFT", "cochleagram"}
    for oracle, noisy in stoi.values():  # the ideal mask must beat the noisy input
        assert oracle > noisy + 0.1


@pytest.mark.slow
def test_quickstart_example(tmp_path):
    out = run_example("quickstart.py", tmp_path, "wavs")
    assert "done in" in out
    folder = tmp_path / "wavs"
    enhanced = sorted((folder / "enhanced").glob("*.wav"))
    noisy = sorted((folder / "test" / "noisy").glob("*.wav"))
    clean = sorted((folder / "test" / "clean").glob("*.wav"))
    assert len(enhanced) == len(noisy) == len(clean) >= 3
    assert (folder / "test" / "mixtures.csv").is_file()
    e, sr = sf.read(enhanced[0])
    n, sr_n = sf.read(noisy[0])
    assert sr == sr_n == 16000 and e.shape == n.shape
    assert not np.allclose(e, n, atol=1e-3)  # the model changed the audio


@pytest.mark.slow
def test_grid_search_example(tmp_path):
    out = run_example("grid_search.py", tmp_path)
    rows = re.findall(r"(STFTTransformer|CochleagramTransformer)\s+(DNN[01]Regressor)\s+"
                      r"([\d.]+)\s+([\d.]+)", out)
    assert len(rows) == 4  # 2 front ends x 2 networks, each scored
    assert len({(f, n) for f, n, _, _ in rows}) == 4
    for _, _, stoi, pesq in rows:
        assert 0 < float(stoi) <= 1 and 1 <= float(pesq) <= 4.6
    assert re.search(r"best: \w+ \+ \w+, STOI [\d.]+", out)


@pytest.mark.slow
def test_enhance_file_example(tmp_path):
    out = run_example("enhance_file.py", tmp_path, "--save-model", "model.sksep")
    assert "wrote the demo input" in out
    noisy, sr = sf.read(tmp_path / "noisy_demo.wav")
    enhanced, sr_e = sf.read(tmp_path / "noisy_demo_enhanced.wav")
    assert sr == sr_e == 16000 and enhanced.shape == noisy.shape
    assert (tmp_path / "model.sksep").is_file()

    # the saved model enhances a stereo 44.1 kHz file; output at the input's rate, mono
    import sksep.io

    stereo = sksep.io.resample(noisy.astype(np.float32), 16000, 44100)
    sf.write(tmp_path / "stereo.wav", np.stack([stereo, 0.5 * stereo], axis=1), 44100)
    run_example("enhance_file.py", tmp_path, "stereo.wav", "out.flac", "--model", "model.sksep")
    info = sf.info(tmp_path / "out.flac")
    assert info.samplerate == 44100 and info.channels == 1
    assert abs(info.frames - len(stereo)) <= 2


def documented_names():
    """``{module: names}`` listed in docs/api.rst (autosummary entries and ``.. data::``)."""
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    names, module = {}, None
    for line in text.splitlines():
        m = re.match(r"\.\. (?:module|currentmodule):: (\S+)", line)
        if m:
            module = m.group(1)
            continue
        m = re.match(r"\.\. data:: (\w+)", line) or re.match(r"   (\w+)$", line)
        if m and module:
            names.setdefault(module, set()).add(m.group(1))
    return names


@pytest.mark.parametrize(
    "module", ["sksep", "sksep.io", "sksep.datasets", "sksep.features", "sksep.targets",
               "sksep.models", "sksep.metrics", "sksep.baselines", "sksep.exceptions",
               "sksep.comparison"]
)
def test_api_reference_lists_every_public_name(module):
    import importlib

    public = {n for n in importlib.import_module(module).__all__ if not n.startswith("__")}
    documented = documented_names().get(module, set())
    assert public - documented == set(), (
        f"public names of {module} missing from docs/api.rst: {sorted(public - documented)}")
    assert documented - public == set(), (
        f"docs/api.rst lists names {module} does not export: {sorted(documented - public)}")
