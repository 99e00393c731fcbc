"""MixingDataset: on-the-fly mixing, reproducible draws, lazy files, training through skorch."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback
from skorch.helper import predefined_split

from sksep import io
from sksep.exceptions import AudioError, ParameterError
from sksep.features import ContextStacker, STFTTransformer
from sksep.models import CNN0Regressor, DNN0Regressor, MixingDataset, UtteranceDataset
from sksep.targets import ideal_binary_mask, ideal_ratio_mask

SR = 8000


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def _front():
    return STFTTransformer(sr=SR, n_fft=64, hop_length=32)


@pytest.fixture(scope="module")
def audio():
    from conftest import _speech_like

    speech = [_speech_like(seconds=s, sr=SR, seed=i) for i, s in enumerate([0.3, 0.4, 0.25, 0.35])]
    rng = np.random.default_rng(1)
    noise = [(0.05 * rng.standard_normal(n)).astype(np.float32) for n in (12000, 1500)]
    return speech, noise


def _frames(ds):
    xs, ys = zip(*iter(ds))
    return np.stack(xs), np.stack(ys)


def test_mixture_is_exact_and_features_match_the_pipeline(audio):
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=[-5, 5], context=2, random_state=3)
    noisy, clean, noise_part, feats, mask = ds.mixture(1, epoch=0)
    assert np.array_equal(noisy, clean + noise_part)
    snr = 10 * np.log10(np.sum(clean.astype(float) ** 2) / np.sum(noise_part.astype(float) ** 2))
    assert min(abs(snr + 5), abs(snr - 5)) < 0.01
    assert any(len(clean) == len(s) for s in speech)
    # same features as SpeechEnhancer's pipeline: RMS to -25 dBFS, front end, context stacker
    gain = 10 ** (-25 / 20) / np.sqrt(np.mean(noisy.astype(float) ** 2))
    front = _front().fit([noisy])
    expected = ContextStacker(2).fit_transform(front.transform([noisy * np.float32(gain)]))[0]
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(mask, ideal_ratio_mask(clean, noise_part, _front()))
    ibm = MixingDataset(speech, noise, _front(), snr_db=[-5, 5], target="ibm", context=2,
                        random_state=3).mixture(1)
    np.testing.assert_array_equal(ibm[4], ideal_binary_mask(clean, noise_part, _front()))


def test_draws_repeat_with_the_seed_and_change_with_epoch_and_seed(audio):
    speech, noise = audio
    make = lambda seed: MixingDataset(speech, noise, _front(), snr_db=[-5, 0, 5],  # noqa: E731
                                      n_items=6, buffer_size=64, random_state=seed)
    a, b = make(0), make(0)
    xa, ya = _frames(a)
    xb, yb = _frames(b)
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert a.epoch == 1
    xa2, _ = _frames(a)  # second epoch: new mixtures
    assert xa2.shape[1:] == xa.shape[1:] and not np.array_equal(np.sort(xa2, 0), np.sort(xa, 0))
    xc, _ = _frames(make(1))
    assert not (xc.shape == xa.shape and np.array_equal(xc, xa))
    # the epoch serves every frame of its n_items mixtures, each once, shuffled
    items = [make(0).mixture(i, epoch=0)[3] for i in range(6)]
    assert len(xa) == sum(len(f) for f in items)
    stacked = np.concatenate(items)
    assert not np.array_equal(xa, stacked)
    assert np.array_equal(np.unique(xa, axis=0), np.unique(stacked, axis=0))


def test_layouts_serve_what_utterance_dataset_serves(audio):
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=0, buffer_size=1, random_state=0,
                       n_items=1)
    for layout in ({"context": None, "flatten": True}, {"context": (2, 1), "flatten": False}):
        # the layout copies share the dataset's epoch: each iteration serves the next one
        feats, mask = ds.mixture(0, epoch=ds.epoch)[3:]
        ref = UtteranceDataset([feats], [mask], **layout)
        got_x, got_y = _frames(ds.with_layout(**layout))
        want_x, want_y = ref.__getitems__(np.arange(len(ref)))
        order = np.lexsort(got_y.T)  # compare as sets of (sample, target) rows
        ref_order = np.lexsort(want_y.numpy().T)
        np.testing.assert_array_equal(got_x[order], want_x.numpy()[ref_order])
        assert ds.with_layout(**layout).sample_shape == ref.sample_shape


def test_files_are_read_lazily_and_give_the_same_items(audio, tmp_path):
    speech, noise = audio
    paths = {}
    for name, waves in (("speech", speech), ("noise", noise)):
        paths[name] = []
        for i, y in enumerate(waves):
            p = tmp_path / f"{name}{i}.wav"
            io.save(p, y, SR, subtype="FLOAT")
            paths[name].append(str(p))
    mem = MixingDataset(speech, noise, _front(), snr_db=[0, 5], n_items=8, random_state=7)
    lazy = MixingDataset(paths["speech"], paths["noise"], _front(), snr_db=[0, 5], n_items=8,
                         random_state=7, cache_files=2)
    assert lazy._speech.lazy and not hasattr(lazy._speech, "waves")
    for i in range(8):
        for a, b in zip(mem.mixture(i), lazy.mixture(i)):
            np.testing.assert_array_equal(a, b)
    assert len(lazy._speech._cache) <= 2
    # files at another rate are resampled to the front end's rate on reading
    p16 = tmp_path / "speech16k.wav"
    io.save(p16, io.resample(speech[0], SR, 16000), 16000, subtype="FLOAT")
    ds16 = MixingDataset([str(p16)], [paths["noise"][1]], _front(), snr_db=0, random_state=0)
    assert abs(len(ds16.mixture(0)[1]) - len(speech[0])) <= 1


def test_regressors_train_from_the_stream_and_predict_in_a_pipeline(audio):
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=[0, 5], context=1, n_items=8,
                       buffer_size=256, random_state=0)
    kw = dict(module__hidden_dim=16, max_epochs=3, batch_size=32, train_split=None, verbose=0,
              random_state=0)
    net = DNN0Regressor(**kw).fit(ds, None)
    assert net.sample_shape_ == (3 * 33,) and net.n_outputs_ == 33
    assert net.frame_shape_ == (99,) and net.n_features_in_ == 99
    losses = net.history[:, "train_loss"]
    assert len(losses) == 3 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    again = DNN0Regressor(**kw).fit(ds, None)
    for p, q in zip(net.module_.parameters(), again.module_.parameters()):
        assert torch.equal(p, q)
    # at prediction time the network takes the front end's features, context-stacked
    feats = make_pipeline(_front(), ContextStacker(1)).fit_transform(speech[:2])
    out = net.predict(feats)
    assert [m.shape for m in out] == [(1 + len(s) // 32, 33) for s in speech[:2]]
    with pytest.raises(ParameterError, match="expects"):
        net.predict([np.zeros((5, 33), np.float32)])
    # a CNN gets patches; a fixed validation set goes through predefined_split
    cnn = CNN0Regressor(context=2, module__n_filters=(2, 2, 2, 2), module__kernel_size=3,
                        max_epochs=1, batch_size=32, verbose=0, random_state=0)
    plain = MixingDataset(speech, noise, _front(), snr_db=0, n_items=4, random_state=0)
    feats, mask = plain.mixture(0, epoch=5)[3:]
    cnn.set_params(train_split=predefined_split(cnn.get_dataset([feats], [mask])))
    cnn.fit(plain, None)
    assert cnn.sample_shape_ == (5, 33)
    assert np.isfinite(cnn.history[-1, "valid_loss"])


def test_dataloader_workers_split_the_items(audio):
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=0, n_items=4, buffer_size=64,
                       random_state=0).with_layout(flatten=True)

    def run():
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(ds, batch_size=16, num_workers=2,
                                             worker_init_fn=ds.worker_init_fn)
        return torch.cat([x for x, _ in loader]).numpy()

    one, two = run(), run()
    assert np.array_equal(one, two)
    # each utterance once per epoch, with or without workers (the noise draws differ)
    single = _frames(ds)[0]
    assert len(one) == len(single)


def test_augment_hook_and_bad_arguments(audio):
    speech, noise = audio
    calls = []

    def quieter_noise(clean, noise_part, rng):
        calls.append(isinstance(rng, np.random.Generator))
        return clean[::-1].copy(), noise_part

    ds = MixingDataset(speech, noise, _front(), snr_db=0, augment=quieter_noise, random_state=0)
    plain = MixingDataset(speech, noise, _front(), snr_db=0, random_state=0)
    aug_clean, plain_clean = ds.mixture(0)[1], plain.mixture(0)[1]
    assert calls == [True]
    np.testing.assert_allclose(aug_clean, plain_clean[::-1], rtol=1e-6, atol=1e-7)
    with pytest.raises(ParameterError, match="target"):
        MixingDataset(speech, noise, _front(), snr_db=0, target="crm")
    with pytest.raises(ParameterError, match="n_items"):
        MixingDataset(speech, noise, _front(), snr_db=0, n_items=0)
    with pytest.raises(ParameterError, match="frontend"):
        MixingDataset(speech, noise, ContextStacker(), snr_db=0)
    with pytest.raises(ParameterError, match="mixes file paths"):
        MixingDataset([speech[0], "x.wav"], noise, _front(), snr_db=0)
    with pytest.raises(AudioError, match="silent"):
        MixingDataset(speech, [np.zeros(100, np.float32)], _front(), snr_db=0)
    with pytest.raises(ParameterError, match="snr_db"):
        MixingDataset(speech, noise, _front(), snr_db=[])


def test_transform_hook_applies_fitted_middle_steps(audio):
    from sksep.features import FrameStandardizer

    speech, noise = audio
    plain = MixingDataset(speech, noise, _front(), snr_db=0, n_items=4, random_state=0)
    feats = [plain.mixture(i)[3] for i in range(4)]
    middle = make_pipeline(ContextStacker(1), FrameStandardizer()).fit(feats)
    ds = MixingDataset(speech, noise, _front(), snr_db=0, n_items=4, random_state=0,
                       transform=middle)
    served = ds.mixture(2)[3]
    np.testing.assert_allclose(served, middle.transform([feats[2]])[0], rtol=1e-6)
    assert served.shape[1] == 3 * 33
    assert ds.frame_shape == (99,)
    with pytest.raises(ParameterError, match="transform"):
        MixingDataset(speech, noise, _front(), snr_db=0, transform="standardize")


def test_enhancer_fit_stream_matches_its_pipeline_and_round_trips(audio, tmp_path):
    import sksep
    from sksep import SpeechEnhancer
    from sksep.features import FrameStandardizer

    speech, noise = audio
    pipe = make_pipeline(_front(), ContextStacker(1), FrameStandardizer(),
                         DNN0Regressor(module__hidden_dim=16, max_epochs=3, batch_size=32,
                                       verbose=0, random_state=0))
    enh = SpeechEnhancer(pipe)
    rng = np.random.default_rng(5)
    v_clean = speech[:2]
    v_noisy = [c + 0.05 * rng.standard_normal(len(c)).astype(np.float32) for c in v_clean]
    enh.fit_stream(speech, noise, snr_db=[0, 5], n_items=8, n_fit_items=4,
                   valid=(v_noisy, v_clean), buffer_size=256)
    # the standardiser was fitted on streamed features: unit variance on them
    std = enh.estimator_.named_steps["framestandardizer"]
    assert std.mean_.shape == (99,)
    check = MixingDataset(speech, noise, _front(), snr_db=[0, 5], n_items=8, random_state=0,
                          transform=enh.estimator_[1:-1])
    stacked = np.concatenate([check.mixture(i)[3] for i in range(4)])
    assert abs(float(stacked.mean())) < 0.05 and abs(float(stacked.std()) - 1) < 0.05
    net = enh.estimator_.named_steps["dnn0regressor"]
    assert len(net.history) == 3 and np.all(np.isfinite(net.history[:, "valid_loss"]))
    assert pipe.steps[-1][1].__dict__.get("module_") is None  # the given pipeline is untouched
    out = enh.predict(v_noisy)
    assert [len(y) for y in out] == [len(y) for y in v_noisy]
    path = sksep.save(enh, tmp_path / "stream.sksep")
    again = sksep.load(path)
    for a, b in zip(out, again.predict(v_noisy)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ParameterError, match="Pipeline"):
        SpeechEnhancer(_front()).fit_stream(speech, noise, snr_db=0)
    with pytest.raises(ParameterError, match="n_fit_items"):
        enh.fit_stream(speech, noise, snr_db=0, n_fit_items=0)


# --------------------------------------------------------------------------- every frame, epochs
class _Batches(Callback):
    """The training batches' inputs, per epoch."""

    def initialize(self):
        self.epochs = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.epochs[-1].append(batch[0].numpy().copy())


class _PlainNet(torch.nn.Module):
    """A network without BatchNorm: a one-frame batch trains as it is."""

    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.linear = torch.nn.Linear(input_dim, output_dim)

    def forward(self, x):
        return self.linear(x)


def _rows(a):
    """The rows of a 2-D array in a canonical order (to compare frames as sets)."""
    return a[np.lexsort(a.T[::-1])]


def test_every_streamed_frame_is_trained_on_and_an_empty_epoch_is_refused():
    from conftest import _speech_like

    speech = [_speech_like(seconds=0.5, sr=SR, seed=0)]  # 4000 samples: 126 frames
    noise = [(0.05 * np.random.default_rng(1).standard_normal(20000)).astype(np.float32)]
    ds = MixingDataset(speech, noise, _front(), snr_db=[0, 5], random_state=0)
    assert len(ds.mixture(0)[3]) == 126
    kw = dict(module__hidden_dim=8, max_epochs=2, train_split=None, verbose=0, random_state=0)
    # one partial batch per epoch: it used to be dropped, leaving nothing to train on
    net = DNN0Regressor(**kw).fit(ds, None)
    assert net.history[:, "train_batch_count"] == [1, 1]
    assert [sum(b["train_batch_size"] for b in row["batches"]) for row in net.history] == [126] * 2
    assert np.all(np.isfinite(net.history[:, "train_loss"]))
    # 126 = 125 + 1: BatchNorm cannot train on the lone frame, it joins the batch before it
    recorder = _Batches()
    DNN0Regressor(**kw, batch_size=125, callbacks=[("rec", recorder)]).fit(ds, None)
    assert [[len(b) for b in epoch] for epoch in recorder.epochs] == [[126], [126]]
    # a network without BatchNorm trains on the one-frame batch as it comes
    plain = _Batches()
    DNN0Regressor(_PlainNet, batch_size=125, max_epochs=1, train_split=None, verbose=0,
                  random_state=0, callbacks=[("rec", plain)]).fit(ds, None)
    assert [len(b) for b in plain.epochs[0]] == [125, 1]
    # an epoch without a single training batch is an error, not a silent no-op
    with pytest.raises(ParameterError, match="without a single training batch.*drop_last"):
        DNN0Regressor(**kw, iterator_train__drop_last=True).fit(ds, None)


@pytest.mark.parametrize("persistent", [False, True], ids=["workers", "persistent_workers"])
def test_workers_serve_every_frame_of_each_epochs_mixtures(audio, persistent):
    """With DataLoader workers every epoch serves all frames of that epoch's mixtures (each
    worker's partial last batch included), the mixtures a run without workers makes; with
    persistent workers too, whose copies of the dataset live on from epoch to epoch."""
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=[-5, 0, 5], n_items=3, buffer_size=64,
                       random_state=0)
    recorder = _Batches()
    DNN0Regressor(module__hidden_dim=8, max_epochs=2, batch_size=16, train_split=None,
                  verbose=0, random_state=0, iterator_train__num_workers=2,
                  iterator_train__persistent_workers=persistent,
                  callbacks=[("rec", recorder)]).fit(ds, None)
    assert ds.epoch == 2  # counted in this process although the workers made the frames
    served = [_rows(np.concatenate(epoch)) for epoch in recorder.epochs]
    for epoch, got in enumerate(served):
        want = _rows(np.concatenate([ds.mixture(i, epoch=epoch)[3] for i in range(3)]))
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert served[0].shape != served[1].shape or not np.array_equal(served[0], served[1])
    assert not any(len(b) == 1 for epoch in recorder.epochs for b in epoch)


def test_partial_fit_and_warm_start_go_on_with_the_next_epochs(audio, monkeypatch):
    speech, noise = audio
    ds = MixingDataset(speech, noise, _front(), snr_db=[0, 5], n_items=3, random_state=0)
    epochs = []
    real = MixingDataset.mixture

    def spy(self, i, *, epoch=0, _key=None):
        if _key is not None:
            epochs.append(_key)
        return real(self, i, epoch=epoch, _key=_key)

    monkeypatch.setattr(MixingDataset, "mixture", spy)

    def served():
        keys = sorted(set(epochs))
        epochs.clear()
        return keys

    net = DNN0Regressor(module__hidden_dim=8, max_epochs=2, batch_size=32, train_split=None,
                        verbose=0, random_state=0)
    net.fit(ds, None)
    assert served() == [(0, 0), (0, 1)] and ds.epoch == 2
    net.partial_fit(ds, None)
    assert served() == [(0, 2), (0, 3)] and ds.epoch == 4
    net.set_params(warm_start=True).fit(ds, None)
    assert served() == [(0, 4), (0, 5)] and ds.epoch == 6
    # a fresh fit starts over: fitting twice trains on the same mixtures
    net.set_params(warm_start=False).fit(ds, None)
    assert served() == [(0, 0), (0, 1)] and ds.epoch == 2
    ds.epoch = 7  # the documented attribute is settable, and checked
    assert ds.with_layout(flatten=True).epoch == 7
    with pytest.raises(ParameterError, match="epoch"):
        ds.epoch = -1


def test_fingerprint_follows_the_buffer_and_the_files_content(audio, tmp_path):
    import os

    speech, noise = audio
    make = lambda **kw: MixingDataset(speech, noise, _front(), snr_db=0,  # noqa: E731
                                      random_state=0, **kw)
    assert make(buffer_size=64).fingerprint() != make(buffer_size=65).fingerprint()
    assert make(buffer_size=64).fingerprint() == make(buffer_size=64).fingerprint()
    paths = []
    for i, y in enumerate(speech):
        paths.append(str(tmp_path / f"s{i}.wav"))
        io.save(paths[-1], y, SR, subtype="FLOAT")
    noise_path = str(tmp_path / "n.wav")
    io.save(noise_path, noise[0], SR, subtype="FLOAT")

    def lazy():
        return MixingDataset(paths, [noise_path], _front(), snr_db=0, random_state=0)

    before = lazy().fingerprint()
    assert lazy().fingerprint() == before
    # another utterance's audio, same length (same file size), in a file the first mixture
    # does not read: only the file's modification time tells
    first = int(lazy()._order((0, 0))[0])
    other = next(i for i in range(len(paths)) if i != first)
    stat = os.stat(paths[other])
    io.save(paths[other], speech[other][::-1].copy(), SR, subtype="FLOAT")
    os.utime(paths[other], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert os.path.getsize(paths[other]) == stat.st_size
    assert lazy().fingerprint() != before
