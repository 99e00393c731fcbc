"""sksep.models on synthetic per-utterance features: modules, data plumbing, regressors.

Pipelines on real audio features, the bundled sample and grid searches are in
tests/test_models_pipeline.py.
"""

import contextlib
import doctest
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import EpochScoring
from skorch.exceptions import DeviceWarning, NotInitializedError
from torch import nn

import sksep.models._data
import sksep.models._modules
import sksep.models._regressors
from sksep.exceptions import ParameterError
from sksep.models import (
    CNN0,
    CNN1,
    DNN0,
    DNN1,
    BiasedSigmoid,
    CNN0Regressor,
    CNN1Regressor,
    DNN0Regressor,
    DNN1Regressor,
    UtteranceDataset,
    UtteranceSplit,
    resolve_device,
)

F, O = 12, 10  # feature width, mask width (CNN1 needs >= 9 channels)


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def make_data(n_utt=10, seed=0, f=F, o=O, lengths=(70, 130)):
    """Per-utterance features and masks that a small network can learn."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((f, o)).astype(np.float32) / np.sqrt(f)
    X, Y = [], []
    for _ in range(n_utt):
        n = int(rng.integers(*lengths))
        x = rng.standard_normal((n, f)).astype(np.float32)
        X.append(x)
        Y.append((1 / (1 + np.exp(-3 * x @ W))).astype(np.float32))
    return X, Y


SMALL = {
    "DNN0": (DNN0Regressor, {"module__hidden_dim": 32}),
    "DNN1": (DNN1Regressor, {"module__hidden_dim": 32}),
    "CNN0": (CNN0Regressor, {"context": 2, "module__n_filters": (4, 4, 4, 4),
                             "module__kernel_size": 3}),
    "CNN1": (CNN1Regressor, {"context": 4, "module__n_filters": (4, 4, 4, 4, 4)}),
}


def small(name, **kw):
    cls, params = SMALL[name]
    return cls(**{"verbose": 0, "random_state": 0, "max_epochs": 3, "batch_size": 64,
                  **params, **kw})


# ---------------------------------------------------------------- modules

def test_biased_sigmoid_formula():
    x = torch.linspace(-10, 10, 41)
    for beta in (0.0, 6.0, -2.5):
        expected = 1 / (1 + np.exp(-(x.numpy().astype(np.float64) + beta)))
        np.testing.assert_allclose(BiasedSigmoid(beta)(x).numpy(), expected, rtol=1e-5)
    with pytest.raises(ParameterError, match="beta"):
        BiasedSigmoid(float("nan"))


def _types(seq):
    return [type(m).__name__ for m in seq]


def test_dnn0_default_stack():
    net = DNN0(input_dim=50, output_dim=7)
    assert _types(net.net) == ["Linear", "BatchNorm1d", "ReLU"] * 4 + ["Linear", "Identity"]
    widths = [m.out_features for m in net.net if isinstance(m, nn.Linear)]
    assert widths == [1024] * 4 + [7]
    assert net.net[0].in_features == 50


def test_dnn1_default_stack():
    net = DNN1(input_dim=30, output_dim=7)
    block = ["Linear", "BiasedSigmoid", "BatchNorm1d", "Dropout"]
    assert _types(net.net) == block * 4 + ["Linear", "BiasedSigmoid"]
    assert [m.out_features for m in net.net if isinstance(m, nn.Linear)] == [60] * 4 + [7]
    betas = [m.beta for m in net.net if isinstance(m, BiasedSigmoid)]
    assert betas == [6.0] * 4 + [0.0]
    assert {m.p for m in net.net if isinstance(m, nn.Dropout)} == {0.1}


def test_cnn0_default_stack():
    net = CNN0(input_shape=(15, 64), output_dim=64)
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256]
    assert {c.kernel_size for c in convs} == {(11, 11)} and convs[0].in_channels == 1
    names = _types(net.features)
    pools = [i for i, n in enumerate(names) if n == "MaxPool2d"]
    # pools right after the 2nd and 4th conv block, 3x3, stride 1, same size
    assert names[pools[0] - 3] == "Conv2d" and names.count("Conv2d") == 4
    assert [names[:p].count("Conv2d") for p in pools] == [2, 4]
    assert all(net.features[p].stride == 1 and net.features[p].kernel_size == 3 for p in pools)
    assert _types(net.head) == ["Flatten", "Linear", "LeakyReLU", "Dropout"]
    assert net.head[1].in_features == 256 * 15 * 64 and net.head[3].p == 0.2
    assert {m.negative_slope for m in net.modules() if isinstance(m, nn.LeakyReLU)} == {0.01}


def test_cnn1_default_stack_and_output():
    net = CNN1(input_shape=(15, 64), output_dim=64).eval()
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [12, 24, 48, 48, 48]
    pools = [m for m in net.features if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.stride == 2 and p.kernel_size == 3 for p in pools)
    assert _types(net.head) == ["Dropout", "Flatten", "Linear", "Identity"]
    assert net.head[2].in_features == 48 * 2 * 8  # 15 x 64 -> 8 x 32 -> 4 x 16 -> 2 x 8
    assert net(torch.zeros(3, 15, 64)).shape == (3, 64)
    assert net(torch.zeros(3, 1, 15, 64)).shape == (3, 64)


def test_small_modules_forward_shapes_and_parameters():
    x = torch.randn(6, 9, 12)
    assert DNN0(108, 5, hidden_dim=[8, 16], dropout=0.3).eval()(x).shape == (6, 5)
    assert DNN1(108, 5, hidden_dim=8, n_layers=2).eval()(x).shape == (6, 5)
    assert CNN0((9, 12), 5, n_filters=(2, 3, 4, 5), kernel_size=5).eval()(x).shape == (6, 5)
    with torch.no_grad():
        out = DNN0(108, 5, hidden_dim=8, output_activation="sigmoid").eval()(x * 100)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert CNN1.min_input_shape() == (9, 9)
    CNN1((9, 9), 3).eval()(torch.zeros(2, 9, 9))  # the smallest accepted patch runs
    with pytest.raises(ParameterError, match=r"at least 9 x 9.*got 8 x 64"):
        CNN1((8, 64), 3)
    with pytest.raises(ParameterError, match="output_activation"):
        DNN0(4, 2, output_activation="tanhh")
    with pytest.raises(ParameterError, match="kernel_size must be odd"):
        CNN0((9, 9), 2, kernel_size=4)


# ------------------------------------------------------------------- data

def test_dataset_frames_and_patches_by_index():
    X = [np.arange(12, dtype=np.float32).reshape(4, 3), -np.ones((2, 3), np.float32)]
    Y = [np.ones((4, 2)), np.zeros((2, 2))]
    flat = UtteranceDataset(X, Y)
    xb, yb = flat.__getitems__([5, 0])
    np.testing.assert_array_equal(xb.numpy(), [X[1][1], X[0][0]])
    np.testing.assert_array_equal(yb.numpy(), [[0, 0], [1, 1]])

    ds = UtteranceDataset(X, Y, context=(2, 1))
    assert len(ds) == 6 and ds.sample_shape == (4, 3)
    # padded once per utterance, not once per context frame
    assert ds.features.shape == (6 + 2 * 3, 3)
    patches, _ = ds.__getitems__(np.arange(6))
    for g, (u, t) in enumerate([(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]):
        x = X[u]
        rows = np.clip(np.arange(t - 2, t + 2), 0, len(x) - 1)  # edge frames repeated
        np.testing.assert_array_equal(patches[g].numpy(), x[rows])
    assert UtteranceDataset(X, context=1, flatten=True).sample_shape == (9,)
    # 3-D input is already patches: context is ignored
    P = [np.zeros((5, 3, 4), np.float32)]
    assert UtteranceDataset(P, context=7).sample_shape == (3, 4)


def test_utterance_split_never_splits_an_utterance():
    X, Y = make_data(n_utt=9)
    ds = UtteranceDataset(X, Y)
    train, valid = UtteranceSplit(valid_fraction=0.3, random_state=1)(ds)
    assert set(train.utterances).isdisjoint(valid.utterances)
    assert sorted([*train.utterances, *valid.utterances]) == list(range(9))
    assert valid.n_utterances == 3
    assert len(train) + len(valid) == len(ds)
    assert len(valid) == sum(len(X[u]) for u in valid.utterances)
    # the validation frames are exactly the frames of the held-out utterances
    xb, yb = valid.__getitems__(np.arange(len(valid)))
    np.testing.assert_array_equal(xb.numpy(), np.concatenate([X[u] for u in valid.utterances]))
    again = UtteranceSplit(valid_fraction=0.3, random_state=1)(ds)[1]
    assert list(again.utterances) == list(valid.utterances)
    with pytest.raises(ParameterError, match="train_split=None"):
        UtteranceSplit()(UtteranceDataset(X[:1], Y[:1]))


# ------------------------------------------------------------- regressors

@pytest.mark.parametrize("name", ["DNN0", "DNN1", "CNN0", "CNN1"])
def test_each_network_learns_and_predicts_one_mask_per_utterance(name):
    X, Y = make_data(n_utt=10)
    net = small(name, max_epochs=4, lr=3e-3).fit(X, Y)
    valid = net.history[:, "valid_loss"]
    assert len(valid) == 4 and valid[-1] < valid[0]
    masks = net.predict(X[:3] + [X[0][:5]])
    assert [m.shape for m in masks] == [(len(x), O) for x in X[:3]] + [(5, O)]
    assert all(m.dtype == np.float32 for m in masks)
    assert net.n_outputs_ == O and net.n_features_in_ == F


def test_sizes_inferred_from_data_without_module_input_dim():
    X, Y = make_data(n_utt=4)
    net = small("DNN0", max_epochs=1).fit(X, Y)
    assert net.module_.net[0].in_features == F and net.module_.net[-2].out_features == O
    # 3-D (n_frames, context, F) input is flattened for a DNN ...
    P = [np.stack([x, x, x], axis=1) for x in X]
    net = small("DNN1", max_epochs=1).fit(P, Y)
    assert net.sample_shape_ == (3 * F,) and net.module_.net[0].in_features == 3 * F
    assert net.predict(P[:1])[0].shape == (len(X[0]), O)
    # ... and used as patches by a CNN; 2-D input gets patches from `context`
    P9 = [np.repeat(x[:, None, :], 9, axis=1) for x in X]
    assert small("CNN1", max_epochs=1).fit(P9, Y).sample_shape_ == (9, F)
    assert small("CNN1", max_epochs=1, context=(5, 3)).fit(X, Y).sample_shape_ == (9, F)
    # a matching explicit size is fine, a contradicting one is refused
    small("DNN0", max_epochs=1, module__input_dim=F).fit(X, Y)
    with pytest.raises(ParameterError, match="module__input_dim=99 does not match"):
        small("DNN0", max_epochs=1, module__input_dim=99).fit(X, Y)


def test_training_defaults_follow_the_original():
    for cls, lr in [(DNN0Regressor, 1e-3), (DNN1Regressor, 1e-3), (CNN0Regressor, 1e-3),
                    (CNN1Regressor, 3e-4)]:
        p = cls().get_params()
        assert p["lr"] == lr and p["batch_size"] == 128 and p["optimizer"] is torch.optim.Adam
        assert p["optimizer__weight_decay"] == 1e-4 and p["criterion"] is nn.MSELoss
        assert p["device"] == "auto" and p["callbacks__lr_scheduler__gamma"] == 0.9
        assert p["callbacks__early_stopping__load_best"] is True
        assert p["callbacks__early_stopping__monitor"] == "valid_loss"
    X, Y = make_data(n_utt=5)
    net = small("DNN0", max_epochs=3).fit(X, Y)
    group = net.optimizer_.param_groups[0]
    assert isinstance(net.optimizer_, torch.optim.Adam) and group["weight_decay"] == 1e-4
    np.testing.assert_allclose(net.history[:, "event_lr"], [1e-3, 9e-4, 8.1e-4])


def test_early_stopping_restores_the_best_weights():
    # targets unrelated to the inputs: the net overfits and the validation loss rises
    X, _ = make_data(n_utt=8, lengths=(25, 35))
    rng = np.random.default_rng(1)
    Y = [rng.random((len(x), O)).astype(np.float32) for x in X]
    net = small("DNN0", module__hidden_dim=128, lr=1e-2, max_epochs=30, batch_size=32,
                callbacks__early_stopping__patience=2).fit(X, Y)
    valid = np.array(net.history[:, "valid_loss"])
    best = int(np.argmin(valid))
    assert best < len(valid) - 1  # the best epoch is not the last one...
    assert len(valid) == best + 1 + 2 < 30  # ...and training stopped after `patience` misses
    _, valid_ds = net.train_split(net.get_dataset(X, Y))
    held_out = list(valid_ds.utterances)
    pred = net.predict([X[u] for u in held_out])
    mse = np.mean((np.concatenate(pred) - np.concatenate([Y[u] for u in held_out])) ** 2)
    assert mse == pytest.approx(valid[best], rel=1e-4)  # the restored weights are the best


def test_train_split_none_trains_every_epoch():
    X, Y = make_data(n_utt=1)
    net = small("DNN0", train_split=None, max_epochs=3).fit(X, Y)
    assert len(net.history) == 3 and "valid_loss" not in net.history[-1]


def test_skorch_parameters_and_callbacks_still_work():
    X, Y = make_data(n_utt=6)
    net = small("DNN0", max_epochs=2, callbacks__early_stopping=None,
                callbacks__lr_scheduler__gamma=0.5, iterator_train__batch_size=32,
                optimizer__weight_decay=0.0).fit(X, Y)
    assert "early_stopping" not in dict(net.callbacks_)
    np.testing.assert_allclose(net.history[:, "event_lr"], [1e-3, 5e-4])
    n_train = len(net.train_split(net.get_dataset(X, Y))[0])
    assert net.history[-1, "train_batch_count"] == -(-n_train // 32)
    # scoring callbacks see frame-wise predictions
    net = small("DNN0", max_epochs=2, callbacks=[EpochScoring("r2", lower_is_better=False)])
    net.fit(X, Y)
    assert all(np.isfinite(net.history[:, "r2"]))
    # set_params on a fitted net rebuilds the module with the data sizes
    net.set_params(module__hidden_dim=8)
    assert net.module_.net[0].out_features == 8 and net.module_.net[0].in_features == F
    # warm start continues the same history
    net.set_params(warm_start=True)
    net.fit(X, Y)
    assert len(net.history) == 4
    net.partial_fit(X, Y)
    assert len(net.history) == 6  # max_epochs more


@pytest.mark.parametrize("name", ["DNN0", "CNN1"])
def test_partial_fit_from_scratch_builds_the_network_like_fit(name):
    X, Y = make_data(n_utt=5)
    grown = small(name, random_state=2, max_epochs=1)
    grown.partial_fit(X, Y)
    fitted = small(name, random_state=2, max_epochs=1).fit(X, Y)
    assert grown.sample_shape_ == fitted.sample_shape_ and grown.n_features_in_ == F
    np.testing.assert_allclose(grown.predict(X[:1])[0], fitted.predict(X[:1])[0], rtol=1e-5)
    grown.partial_fit(X, Y)
    assert len(grown.history) == 2
    with pytest.raises(ParameterError, match="network was built for"):
        grown.partial_fit([x[:, :-1] for x in X], Y)


def test_partial_fit_on_a_built_network_refuses_masks_of_another_width():
    X, Y = make_data(n_utt=3, lengths=(30, 40))
    net = small("DNN0", module__hidden_dim=8, max_epochs=1)
    net.partial_fit(X, Y)
    for width in (1, 4):  # width 1 used to broadcast silently, 4 to fail inside torch
        with pytest.raises(ParameterError,
                           match=rf"y has masks of width {width} but .* width {O}"):
            net.partial_fit(X, [y[:, :width] for y in Y])
    with pytest.raises(ParameterError, match="y is required"):
        net.partial_fit(X)
    assert len(net.history) == 1  # nothing was trained
    net.partial_fit(X, Y)
    assert len(net.history) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_epochs": 0}, "max_epochs must be an int >= 1, got 0"),
        ({"max_epochs": -1}, "max_epochs must be an int >= 1, got -1"),
        ({"max_epochs": 2.5}, "max_epochs must be an int >= 1, got 2.5"),
        ({"max_epochs": float("nan")}, "max_epochs must be an int >= 1, got nan"),
        ({"max_epochs": True}, "max_epochs must be an int >= 1, got True"),
        ({"batch_size": 0}, "batch_size must be an int >= 1, or -1 .*, got 0"),
        ({"batch_size": -2}, "batch_size must be an int >= 1, or -1 .*, got -2"),
        ({"batch_size": 32.0}, "batch_size must be an int >= 1, or -1 .*, got 32.0"),
        ({"batch_size": None}, "batch_size must be an int >= 1, or -1 .*, got None"),
        ({"iterator_train__batch_size": 0}, "iterator_train__batch_size must be .*, got 0"),
        # batch_size still sizes the validation and prediction batches here
        ({"batch_size": 0, "iterator_train__batch_size": 32}, "^batch_size must be"),
        ({"lr": None}, "lr must be a finite number >= 0, got None"),
        ({"lr": -1e-3}, "lr must be a finite number >= 0, got -0.001"),
        ({"lr": float("inf")}, "lr must be a finite number >= 0, got inf"),
        ({"optimizer__lr": -0.5}, "optimizer__lr must be a finite number >= 0, got -0.5"),
    ],
)
def test_bad_training_parameters_are_refused_by_name(params, message):
    X, Y = make_data(n_utt=3, lengths=(20, 30))
    for method in ("fit", "partial_fit"):
        net = small("DNN0", **{"module__hidden_dim": 8, "max_epochs": 1, **params})
        with pytest.raises(ParameterError, match=message):
            getattr(net, method)(X, Y)
        assert not net.initialized_


def test_training_parameters_given_through_skorch_prefixes_still_work():
    X, Y = make_data(n_utt=3, lengths=(20, 30))
    # the iterator_* batch sizes and optimizer__lr override batch_size and lr
    net = small("DNN0", module__hidden_dim=8, max_epochs=1, batch_size=None,
                iterator_train__batch_size=16, iterator_valid__batch_size=1,
                lr=None, optimizer__lr=0.01).fit(X, Y)
    assert net.optimizer_.param_groups[0]["initial_lr"] == 0.01
    assert net.history[-1, "train_batch_count"] > 1
    assert [len(m) for m in net.predict(X)] == [len(x) for x in X]
    small("DNN0", module__hidden_dim=8, max_epochs=np.int64(1), batch_size=-1,
          lr=np.float32(1e-3)).fit(X, Y)


def test_one_frame_training_batches_are_explained_not_left_to_torch():
    X, Y = make_data(n_utt=3, lengths=(20, 30))
    with pytest.raises(ParameterError, match=r"single frame \(batch_size=1, \d+ training "
                                             r"frames after the validation split\).*BatchNorm"):
        small("DNN0", module__hidden_dim=8, max_epochs=1, batch_size=1).fit(X, Y)
    with pytest.raises(ParameterError, match=r"iterator_train__batch_size=1"):
        small("DNN1", module__hidden_dim=8, max_epochs=1,
              iterator_train__batch_size=1).partial_fit(X, Y)
    with pytest.raises(ParameterError, match=r"batch_size=64, 1 training frame\)"):
        small("DNN1", module__hidden_dim=8, max_epochs=1, train_split=None).fit(
            [X[0][:1]], [Y[0][:1]])
    # CNN BatchNorm normalises over a whole patch: one patch per batch trains fine
    net = small("CNN0", max_epochs=1, batch_size=1).fit([x[:8] for x in X], [y[:8] for y in Y])
    assert len(net.history) == 1


def test_seeding_on_a_gpu_saves_and_restores_every_gpus_generator(monkeypatch):
    # torch.manual_seed reseeds all GPUs, so all of them must be forked (no GPU here: the
    # CUDA calls are stood in for, and what _seeded asks of them is recorded)
    forked = []

    @contextlib.contextmanager
    def fork_rng(devices=None, **kwargs):
        forked.append(devices)
        yield

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.random, "fork_rng", fork_rng)
    monkeypatch.setattr(torch, "manual_seed", lambda seed: forked.append(("seed", seed)))
    with small("DNN0", random_state=5, device="cuda:1")._seeded():
        pass
    with small("DNN0", random_state=5, device="cpu")._seeded():
        pass
    assert forked == [[0, 1, 2], ("seed", 5), [], ("seed", 5)]


def test_seeded_runs_repeat_and_leave_global_rng_alone():
    X, Y = make_data(n_utt=5)
    state = torch.get_rng_state()
    a = small("DNN1", random_state=3, max_epochs=2).fit(X, Y)
    assert torch.equal(torch.get_rng_state(), state)
    b = small("DNN1", random_state=3, max_epochs=2).fit(X, Y)
    c = small("DNN1", random_state=4, max_epochs=2).fit(X, Y)
    assert a.history[:, "train_loss"] == b.history[:, "train_loss"]
    for pa, pb in zip(a.predict(X), b.predict(X), strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.predict(X)[0], c.predict(X)[0])


def test_predict_batches_long_utterances():
    X, Y = make_data(n_utt=4)
    net = small("DNN0", max_epochs=1, batch_size=100).fit(X, Y)
    long = np.random.default_rng(5).standard_normal((2501, F)).astype(np.float32)
    sizes = []
    hook = net.module_.register_forward_hook(lambda m, i, o: sizes.append(len(i[0])))
    mask = net.predict([long])[0]
    hook.remove()
    assert mask.shape == (2501, O)
    assert max(sizes) == 100 and sum(sizes) == 2501
    # frames are independent at prediction time: pieces give the same masks
    pieces = net.predict([long[:1000], long[1000:]])
    np.testing.assert_allclose(np.concatenate(pieces), mask, atol=1e-6)


def test_score_is_r2_over_frames():
    X, Y = make_data(n_utt=5)
    net = small("DNN0", max_epochs=2).fit(X, Y)
    expected = r2_score(np.concatenate(Y), np.concatenate(net.predict(X)))
    assert net.score(X, Y) == pytest.approx(expected)


def test_score_takes_one_weight_per_utterance():
    X, Y = make_data(n_utt=5, lengths=(20, 30))
    net = small("DNN0", module__hidden_dim=8, max_epochs=1).fit(X, Y)
    weights = [1.0, 2.0, 0.5, 1.0, 3.0]
    frame_weights = np.repeat(weights, [len(y) for y in Y])
    expected = r2_score(np.concatenate(Y), np.concatenate(net.predict(X)),
                        sample_weight=frame_weights)
    assert net.score(X, Y, sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ParameterError, match="sample_weight holds 2 weights but X has 5 utt"):
        net.score(X, Y, sample_weight=[1, 2])
    with pytest.raises(ParameterError, match=r"an array of shape \(\) but X has 5 utt"):
        net.score(X, Y, sample_weight=2.0)


def test_bad_input_is_refused_before_training():
    X, Y = make_data(n_utt=4)
    cases = [
        (X, Y[:2] + [Y[2][:-3], Y[3]], r"utterance 2: X\[2\] has \d+ frames but y\[2\] has \d+"),
        ([], [], "X is empty"),
        (X[:1] + [np.where(np.eye(*X[1].shape) > 0, np.nan, X[1])] + X[2:], Y,
         r"X\[1\] contains \d+ NaN"),
        (X, Y[:1] + [Y[1] + np.inf] + Y[2:], r"y\[1\] contains \d+ NaN or infinite"),
        (X[:2] + [X[2][:, :5]] + X[3:], Y, r"X\[2\] has frames of shape \(5,\)"),
        (X[0], Y[0], "single 2-D array"),
        (X, Y[:3], "X has 4 utterances but y has 3"),
    ]
    for Xb, Yb, msg in cases:
        net = small("DNN0")
        with pytest.raises(ParameterError, match=msg):
            net.fit(Xb, Yb)
        assert not net.initialized_
    net = small("CNN1", context=3)
    with pytest.raises(ParameterError, match=r"at least 9 x 9.*got 7 x 12.*context"):
        net.fit(X, Y)
    assert not net.initialized_
    net = small("CNN0", context=None)
    with pytest.raises(ParameterError, match="context"):
        net.fit(X, Y)


def test_predict_needs_a_fitted_net_and_a_list_of_matching_features():
    X, Y = make_data(n_utt=4)
    with pytest.raises(NotInitializedError):
        small("DNN0").predict(X)
    net = small("DNN0", max_epochs=1).fit(X, Y)
    with pytest.raises(ParameterError, match=r"single 2-D array.*\[X\]"):
        net.predict(X[0])
    with pytest.raises(ParameterError, match=r"X\[0\] has frames of shape \(5,\).*\(12,\)"):
        net.predict([X[0][:, :5]])


def test_device_auto_is_kept_as_parameter_and_resolved_for_skorch():
    net = DNN0Regressor()
    assert net.get_params()["device"] == "auto"
    assert net.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu" and resolve_device(None) is None
    assert DNN0Regressor(device="cpu").device == "cpu"
    X, Y = make_data(n_utt=3)
    fitted = small("DNN0", max_epochs=1).fit(X, Y)
    assert fitted.get_params()["device"] == "auto"
    assert next(fitted.module_.parameters()).device.type == resolve_device("auto")


def test_clone_gives_an_unfitted_copy_with_the_same_params():
    X, Y = make_data(n_utt=3)
    net = small("CNN1", max_epochs=1).fit(X, Y)
    copy = clone(net)
    assert not hasattr(copy, "module_") and not hasattr(copy, "n_outputs_")
    assert copy.get_params()["context"] == 4 and copy.get_params()["device"] == "auto"
    assert copy.get_params()["module__n_filters"] == (4, 4, 4, 4, 4)


def test_pickle_round_trip_and_cuda_pickle_loads_on_cpu(tmp_path):
    X, Y = make_data(n_utt=4)
    net = small("CNN0", max_epochs=1).fit(X, Y)
    expected = net.predict(X)
    back = pickle.loads(pickle.dumps(net))
    assert back.get_params()["device"] == "auto"
    for a, b in zip(back.predict(X), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    if not torch.cuda.is_available():
        # a net saved as device="cuda" loads and predicts on a CPU-only machine
        net.set_params(device="cuda")
        with pytest.warns(DeviceWarning):
            on_cpu = pickle.loads(pickle.dumps(net))
        assert torch.device(on_cpu.device).type == "cpu"
        np.testing.assert_array_equal(on_cpu.predict(X)[0], expected[0])
    # save_params / load_params into a fresh net with sizes given explicitly
    net.set_params(device="auto")
    net.save_params(f_params=tmp_path / "params.pt")
    fresh = CNN0Regressor(context=2, module__n_filters=(4, 4, 4, 4), module__kernel_size=3,
                          module__input_shape=(5, F), module__output_dim=O, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeviceWarning)
        fresh.initialize().load_params(f_params=tmp_path / "params.pt")
    assert fresh.get_params()["device"] == "auto"
    np.testing.assert_array_equal(fresh.predict(X)[0], expected[0])


def test_initialize_without_data_explains_the_sizes():
    with pytest.raises(ParameterError, match="module__input_dim"):
        DNN0Regressor().initialize()


def test_grid_search_over_network_parameters_with_groupkfold():
    X, Y = make_data(n_utt=6, lengths=(40, 60))
    speakers = np.repeat(["a", "b", "c"], 2)
    search = GridSearchCV(
        small("DNN0", max_epochs=1, train_split=None),
        [{"module__hidden_dim": [8, 16]}, {"lr": [1e-2], "max_epochs": [2]}],
        cv=GroupKFold(n_splits=3),
    )
    search.fit(X, Y, groups=speakers)
    assert len(search.cv_results_["params"]) == 3
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert best.module_.net[0].out_features == best.get_params()["module__hidden_dim"]
    assert best.get_params()["lr"] == search.best_params_.get("lr", 1e-3)
    assert len(search.predict(X[:2])) == 2


def test_an_enhancers_network_trains_further_with_partial_fit_not_warm_start():
    # docs/networks.rst: warm_start does nothing across SpeechEnhancer.fit calls (the
    # pipeline is cloned each time); partial_fit on enh.estimator_[-1] continues training
    from sklearn.pipeline import make_pipeline

    from sksep import SpeechEnhancer
    from sksep.features import STFTTransformer
    from sksep.targets import ideal_ratio_mask

    rng = np.random.default_rng(0)
    t = np.arange(4000) / 16000
    clean = [(0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32) for f0 in (300, 500, 700)]
    noisy = [s + rng.normal(0, 0.1, s.size).astype(np.float32) for s in clean]
    enh = SpeechEnhancer(make_pipeline(
        STFTTransformer(n_fft=64, hop_length=32),
        small("DNN0", module__hidden_dim=8, max_epochs=2, warm_start=True)))
    enh.fit(noisy, clean)
    first = enh.estimator_[-1]
    enh.fit(noisy, clean)
    assert enh.estimator_[-1] is not first and len(enh.estimator_[-1].history) == 2

    # the recipe of the docs: the enhancer's features and targets, by public means
    net = enh.estimator_[-1]
    scaled = [y * 10 ** (enh.level_db / 20) / np.sqrt(np.mean(y**2)) for y in noisy]
    features = enh.estimator_[:-1].transform(scaled)
    for ours, enhancers in zip(features, enh.estimator_[:-1].transform(enh._normalised(noisy)),
                               strict=True):
        np.testing.assert_allclose(ours, enhancers, rtol=1e-5, atol=1e-4)
    masks = ideal_ratio_mask(clean, [y - s for y, s in zip(noisy, clean, strict=True)],
                             enh.front_end_, beta=enh.beta)
    before = enh.predict_mask(noisy[:1])[0]
    net.partial_fit(features, masks)
    assert len(enh.estimator_[-1].history) == 4
    assert not np.allclose(enh.predict_mask(noisy[:1])[0], before)  # the enhancer uses it


@pytest.mark.parametrize(
    "module", [sksep.models._modules, sksep.models._data, sksep.models._regressors]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
