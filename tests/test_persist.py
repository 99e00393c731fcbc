"""Model files: sksep.save / sksep.load round trips, and refusal of bad or hostile files."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import sksep
from sksep import SpeechEnhancer
from sksep.datasets import load_sample, make_mixtures
from sksep.exceptions import ModelFileError, ParameterError
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    FrameStandardizer,
    STFTTransformer,
)
from sksep.models import CNN1Regressor, DNN0Regressor
from sksep.pretrained import default_model_path, load_default

SR = 8000


def _leaf_params(estimator):
    """Every (deep) parameter that is not itself an estimator, comparable across processes.

    A repr would do, but skorch keeps a set among its parameters, whose printed order
    changes with the hash seed.
    """
    out = {}
    for key, value in estimator.get_params(deep=True).items():
        if hasattr(value, "get_params") or key.endswith("steps"):
            continue
        out[key] = sorted(value) if isinstance(value, (set, frozenset)) else repr(value)
    return out


@pytest.fixture(scope="module")
def mixtures():
    speech, noise = load_sample(sr=SR)
    speech = [y[: SR * 2] for y in speech.train[:4]]
    return make_mixtures(speech, noise.train[:3].to_list(), snr_db=[0.0], sr=SR, random_state=0)


def _fit(pipe, mix):
    return SpeechEnhancer(pipe).fit(mix.noisy.to_list(), mix.clean.to_list())


@pytest.fixture(scope="module")
def dnn_enhancer(mixtures):
    net = DNN0Regressor(module__hidden_dim=16, module__n_layers=2, max_epochs=1, verbose=0,
                        random_state=0, callbacks__early_stopping__patience=2)
    pipe = Pipeline([("frontend", STFTTransformer(sr=SR, n_fft=256, hop_length=128)),
                     ("context", ContextStacker(1)), ("standardize", FrameStandardizer()),
                     ("network", net)])
    return _fit(pipe, mixtures)


@pytest.fixture(scope="module")
def saved(dnn_enhancer, tmp_path_factory):
    return sksep.save(dnn_enhancer, tmp_path_factory.mktemp("model") / "dnn.sksep")


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rewrite(src, dst, *, config=None, weights=None, fix_checksum=False, text=None):
    """Copy a model file, replacing its config (a function of the dict, then of its JSON
    text) and/or weights."""
    parts = _members(src)
    cfg = json.loads(parts["config.json"])
    if weights is not None:
        parts["weights.pt"] = weights
    if fix_checksum:
        cfg["weights_sha256"] = hashlib.sha256(parts["weights.pt"]).hexdigest()
    if config is not None:
        config(cfg)
    raw = json.dumps(cfg)
    if text is not None:
        edited = text(raw)
        assert edited != raw, "the edit did not apply"
        raw = edited
    parts["config.json"] = raw.encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return dst


# --------------------------------------------------------------------------- round trips
def test_dnn_round_trip_identical_predictions(dnn_enhancer, saved, mixtures):
    loaded = sksep.load(saved)
    assert type(loaded) is SpeechEnhancer
    before = dnn_enhancer.predict(mixtures.noisy[:3])
    after = loaded.predict(mixtures.noisy[:3])
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert loaded.sr_ == SR
    assert loaded.front_end_ is loaded.estimator_.steps[0][1]
    net, net0 = loaded.estimator_.steps[-1][1], dnn_enhancer.estimator_.steps[-1][1]
    assert net.sample_shape_ == net0.sample_shape_ and net.n_outputs_ == net0.n_outputs_
    assert net.get_params()["module__hidden_dim"] == 16
    assert dict(net.callbacks_)["early_stopping"].patience == 2
    assert net.history_[:, "train_loss"] == net0.history_[:, "train_loss"]
    std, std0 = loaded.estimator_.steps[2][1], dnn_enhancer.estimator_.steps[2][1]
    assert std.mean_.dtype == std0.mean_.dtype and np.array_equal(std.mean_, std0.mean_)
    # the unfitted template is kept too, so the loaded enhancer can be refitted
    assert _leaf_params(loaded.estimator) == _leaf_params(dnn_enhancer.estimator)


def test_prediction_settings_round_trip(dnn_enhancer, mixtures, tmp_path):
    sharp = copy.deepcopy(dnn_enhancer).set_params(mask_exponent=1.5)
    loaded = sksep.load(sksep.save(sharp, tmp_path / "sharp.sksep"))
    assert loaded.mask_exponent == 1.5
    before, after = sharp.predict(mixtures.noisy[:2]), loaded.predict(mixtures.noisy[:2])
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    plain = dnn_enhancer.predict(mixtures.noisy[:2])
    assert not any(np.array_equal(a, b) for a, b in zip(plain, after))


def test_cnn_cochleagram_round_trip(mixtures, tmp_path):
    net = CNN1Regressor(context=(4, 4), module__n_filters=(2, 2, 2, 2, 2), max_epochs=1,
                        verbose=0, random_state=0)
    pipe = make_pipeline(CochleagramTransformer(sr=SR, n_channels=16, hop_length=128),
                         FrameStandardizer(), net)
    enh = _fit(pipe, mixtures)
    loaded = sksep.load(sksep.save(enh, tmp_path / "cnn.sksep"))
    before, after = enh.predict(mixtures.noisy[:2]), loaded.predict(mixtures.noisy[:2])
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert loaded.estimator_.steps[-1][1].get_params()["context"] == (4, 4)
    assert np.array_equal(loaded.front_end_.centre_freqs_, enh.front_end_.centre_freqs_)


def test_unfitted_and_plain_transformers_round_trip(tmp_path):
    enh = SpeechEnhancer(make_pipeline(STFTTransformer(n_fft=256), DNN0Regressor(max_epochs=3)),
                         level_db=None)
    loaded = sksep.load(sksep.save(enh, tmp_path / "a.sksep"))
    assert _leaf_params(loaded) == _leaf_params(enh) and not hasattr(loaded, "estimator_")
    scaler = FrameStandardizer().fit([np.arange(12.0).reshape(6, 2)])
    back = sksep.load(sksep.save(scaler, tmp_path / "b.sksep"))
    assert np.array_equal(back.scale_, scaler.scale_) and back.n_frames_seen_ == 6


def test_weights_are_cpu_tensors_only(saved):
    weights = torch.load(io.BytesIO(_members(saved)["weights.pt"]), weights_only=True)
    assert weights and all(t.device.type == "cpu" for t in weights.values())
    cfg = json.loads(_members(saved)["config.json"])
    assert cfg["format_version"] == 1 and cfg["sksep_version"] == sksep.__version__


def test_model_saved_for_cuda_loads_on_cpu(saved, tmp_path, mixtures, dnn_enhancer):
    def to_cuda(cfg):
        cfg["estimator"]["state"]["estimator_"]["params"]["steps"][3]["__tuple__"][1][
            "params"]["device"] = "cuda"

    path = _rewrite(saved, tmp_path / "cuda.sksep", config=to_cuda)
    if torch.cuda.is_available():  # pragma: no cover - CPU-only CI
        loaded = sksep.load(path, device="cpu")
    else:
        with pytest.warns(UserWarning, match="CUDA is not available"):
            loaded = sksep.load(path)
    assert next(loaded.estimator_.steps[-1][1].module_.parameters()).device.type == "cpu"
    y = loaded.predict(mixtures.noisy[:1])[0]
    assert np.array_equal(y, dnn_enhancer.predict(mixtures.noisy[:1])[0])


# --------------------------------------------------------------------------- refusals
class _Payload:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_is_refused_without_running(saved, tmp_path):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    torch.save({"a0": torch.zeros(2), "evil": _Payload(marker)}, buf)
    path = _rewrite(saved, tmp_path / "evil.sksep", weights=buf.getvalue(), fix_checksum=True)
    with pytest.raises(ModelFileError, match="refused: .*code/pickled objects"):
        sksep.load(path)
    assert not marker.exists()


def test_raw_pickle_payload_is_refused(saved, tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker), protocol=2)
    path = _rewrite(saved, tmp_path / "evil.sksep", weights=payload, fix_checksum=True)
    with pytest.raises(ModelFileError, match="refused|cannot be read"):
        sksep.load(path)
    assert not marker.exists()


def test_modified_weights_fail_the_checksum(saved, tmp_path):
    buf = io.BytesIO()
    torch.save({"a0": torch.zeros(2)}, buf)
    path = _rewrite(saved, tmp_path / "edited.sksep", weights=buf.getvalue())
    with pytest.raises(ModelFileError, match="SHA-256"):
        sksep.load(path)


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "sklearn.svm.SVC"])
def test_unknown_class_is_refused(saved, tmp_path, name):
    def swap(cfg):
        cfg["estimator"]["params"]["estimator"]["params"]["steps"][0]["__tuple__"][1][
            "__estimator__"] = name

    with pytest.raises(ModelFileError, match=rf"refused: .*{name}.*not one sksep trusts"):
        sksep.load(_rewrite(saved, tmp_path / "x.sksep", config=swap))


def test_unknown_parameter_class_is_refused(saved, tmp_path):
    def swap(cfg):
        node = cfg["estimator"]["params"]["estimator"]["params"]["steps"][3]["__tuple__"][1]
        node["params"]["module"] = {"__class__": "subprocess.Popen"}

    with pytest.raises(ModelFileError, match="subprocess.Popen"):
        sksep.load(_rewrite(saved, tmp_path / "x.sksep", config=swap))


def test_other_format_version_is_refused(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "v2.sksep", config=lambda c: c.update(format_version=2))
    with pytest.raises(ModelFileError, match=r"format version 2.*reads format version\(s\) \[1\]"):
        sksep.load(path)


def test_other_sksep_release_is_refused(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "old.sksep", config=lambda c: c.update(sksep_version="0.0.3"))
    with pytest.raises(ModelFileError, match="sksep '0.0.3'"):
        sksep.load(path)


def test_truncated_and_garbage_files_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    for n in (len(data) // 2, 100, 0):
        (tmp_path / "cut.sksep").write_bytes(data[:n])
        with pytest.raises(ModelFileError, match="truncated or corrupt"):
            sksep.load(tmp_path / "cut.sksep")
    (tmp_path / "x.sksep").write_bytes(b"not a model" * 100)
    with pytest.raises(ModelFileError):
        sksep.load(tmp_path / "x.sksep")
    with pytest.raises(FileNotFoundError):
        sksep.load(tmp_path / "missing.sksep")


def test_malformed_config_is_refused(saved, tmp_path):
    def break_it(cfg):
        cfg["estimator"]["params"]["estimator"] = {"weird": 1}

    with pytest.raises(ModelFileError, match="malformed"):
        sksep.load(_rewrite(saved, tmp_path / "m.sksep", config=break_it))


def _steps(cfg):
    """The fitted pipeline's steps of the ``saved`` enhancer: [(name, node), ...] as JSON."""
    return cfg["estimator"]["state"]["estimator_"]["params"]["steps"]


def _step(cfg, i):
    return _steps(cfg)[i]["__tuple__"][1]


# each edit keeps the checksum valid (it covers the weights only): the file is well-formed
# JSON naming trusted classes, and is refused for what its values say
_TAMPERED = {
    "no steps": (lambda c: _steps(c).clear(), "got a Pipeline of 0 step"),
    "network removed": (lambda c: _steps(c).pop(), "'standardize' .*has no predict"),
    "network unfitted": (lambda c: _step(c, 3).pop("state"), "'network' .*is not fitted"),
    "front end moved": (lambda c: _steps(c).reverse(),
                        "first step is a T-F front end .*got first step DNN0Regressor"),
    "estimator is 5": (lambda c: c.update(estimator=5), "'estimator' entry is not an estimator"),
    "estimator missing": (lambda c: c.pop("estimator"), "'estimator' entry is not an estimator"),
    "estimator is a list": (lambda c: c.update(estimator=[]), "is not an estimator"),
    "sr_ zero": (lambda c: c["estimator"]["state"].update(sr_=0), "positive integer, got 0"),
    "sr_ text": (lambda c: c["estimator"]["state"].update(sr_="8000"), "positive integer"),
    "sr_ true": (lambda c: c["estimator"]["state"].update(sr_=True), "positive integer"),
    "sr_ missing": (lambda c: c["estimator"]["state"].pop("sr_"), "positive integer, got None"),
    "sr_ not the front end's": (lambda c: c["estimator"]["state"].update(sr_=16000),
                                r"sr_=16000 but its front end \(STFTTransformer\) works at "
                                r"sr=8000"),
    "mask_exponent text": (lambda c: c["estimator"]["params"].update(mask_exponent="x"),
                           "invalid parameter at estimator: mask_exponent"),
    "mask_exponent negative": (lambda c: c["estimator"]["params"].update(mask_exponent=-1),
                               "mask_exponent"),
    "target unknown": (lambda c: c["estimator"]["params"].update(target="oracle"), "target"),
    "batch_utterances zero": (lambda c: c["estimator"]["params"].update(batch_utterances=0),
                              "batch_utterances"),
    "step parameter": (lambda c: _step(c, 1)["params"].update(pad="wrap"),
                       r"invalid parameter at estimator.estimator_.steps\[1\]\[1\]: pad"),
    "front end parameter": (lambda c: _step(c, 0)["params"].update(hop_length=-3),
                            "hop_length"),
    "format_version true": (lambda c: c.update(format_version=True),
                            r"format version True.*reads format version\(s\) \[1\]"),
    "format_version 1.0": (lambda c: c.update(format_version=1.0), "format version 1.0"),
    "sksep_version number": (lambda c: c.update(sksep_version=0.1), "written by sksep 0.1"),
}


@pytest.mark.parametrize("case", sorted(_TAMPERED))
def test_tampered_config_is_refused(saved, tmp_path, case):
    edit, message = _TAMPERED[case]
    path = _rewrite(saved, tmp_path / "t.sksep", config=edit)
    with pytest.raises(ModelFileError, match=message) as info:
        sksep.load(path)
    assert str(path) in str(info.value)
    assert sksep.load(saved).sr_ == SR  # the untouched file still loads


@pytest.mark.parametrize("depth", [100_000, 500])
def test_deeply_nested_config_is_refused(saved, tmp_path, depth):
    # 100 000 levels break the JSON parser, 500 the rebuilding (within Python's limit)
    nested = "[" * depth + "]" * depth

    def deepen(raw):
        return raw.replace('"mask_exponent": 1.0', f'"mask_exponent": {nested}')

    path = _rewrite(saved, tmp_path / "deep.sksep", text=deepen)
    with pytest.raises(ModelFileError, match="config.json is nested implausibly deep|"
                       r"estimator.mask_exponent\[0\]\[0\].*: values nested more than 100 deep"
                       ) as info:
        sksep.load(path)
    assert str(path) in str(info.value) and len(str(info.value)) < 400


_UNUSABLE = ["foo", "cuda:99", "gpu", 5] + ([] if torch.cuda.is_available() else ["cuda", "cuda:0"])


@pytest.mark.parametrize("device", _UNUSABLE)
def test_unusable_device_is_a_parameter_error(saved, device):
    # the file is fine: this is the caller's argument, so not a ModelFileError
    with pytest.raises(ParameterError, match=rf"device.*{device}") as info:
        sksep.load(saved, device=device)
    assert not isinstance(info.value, ModelFileError)
    if isinstance(device, str) and device.startswith("cuda"):
        assert "cannot be used" in str(info.value)


def test_usable_devices_load(saved):
    for device in ("cpu", torch.device("cpu"), "auto", None):
        net = sksep.load(saved, device=device).estimator_.steps[-1][1]
        assert next(net.module_.parameters()).device.type == "cpu"


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(ParameterError, match="estimator must be one of"):
        sksep.save(StandardScaler(), tmp_path / "s.sksep")
    with pytest.raises(ParameterError, match="criterion"):
        sksep.save(DNN0Regressor(criterion=torch.nn.CrossEntropyLoss), tmp_path / "s.sksep")
    assert not (tmp_path / "s.sksep").exists()


# --------------------------------------------------------------------------- pretrained
def test_pretrained_default_is_small_and_loads():
    assert default_model_path().stat().st_size <= 10 * 2**20
    enh = load_default()
    assert isinstance(enh, SpeechEnhancer) and enh.sr_ == 16000
    y = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1
    out = enh.predict([y])[0]
    assert out.shape == y.shape and np.isfinite(out).all()
