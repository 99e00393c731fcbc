"""Writing the comparison's report: tables (Markdown, CSV), figures (PNG) and audio examples."""

from __future__ import annotations

import dataclasses
import datetime
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd

METRICS = ("stoi", "estoi", "pesq", "si_sdr")
LABELS = {"stoi": "STOI", "estoi": "ESTOI", "pesq": "PESQ", "si_sdr": "SI-SDR"}
CONDITIONS = ("matched", "unseen")


def summarise(results):
    """Mean of each metric (after, before, gain) per system and SNR.

    The plain columns average over all test mixtures. With a ``condition``
    column in ``results``, the same means over the ``"matched"`` and the
    ``"unseen"`` mixtures alone follow, suffixed ``_matched`` and ``_unseen``
    (``n_matched``, ``stoi_gain_unseen`` ...; NaN where a condition has no
    mixture).
    """
    rows = []
    for (system, snr), g in results.groupby(["system", "snr_db"], sort=False):
        row = {"system": system, "snr_db": snr, "n": len(g)}
        row.update(_means(g))
        if "condition" in g.columns:
            for cond in CONDITIONS:
                part = g[g["condition"] == cond]
                row[f"n_{cond}"] = len(part)
                for col, value in _means(part).items():
                    if not col.endswith("_nan"):
                        row[f"{col}_{cond}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _means(g):
    out = {}
    for m in METRICS:
        out[m] = g[m].mean() if len(g) else np.nan
        out[f"{m}_noisy"] = g[f"{m}_noisy"].mean() if len(g) else np.nan
        # gain per utterance, averaged over the utterances both could score
        out[f"{m}_gain"] = (g[m] - g[f"{m}_noisy"]).mean() if len(g) else np.nan
        out[f"{m}_nan"] = int(g[m].isna().sum())
    return out


def _oracle_for(system, extras):
    feature = extras.get(system, {}).get("feature")
    return f"oracle IRM, {feature}" if feature else None


def add_oracle_fraction(summary, extras):
    """Share of the oracle IRM's STOI gain (same front end; the STFT oracle otherwise)."""
    frac = []
    for _, row in summary.iterrows():
        oracle = _oracle_for(row["system"], extras) or "oracle IRM, stft"
        ref = summary[(summary.system == oracle) & (summary.snr_db == row["snr_db"])]
        if ref.empty or not np.isfinite(ref["stoi_gain"].iloc[0]) or ref["stoi_gain"].iloc[0] <= 0:
            frac.append(np.nan)
        else:
            frac.append(row["stoi_gain"] / ref["stoi_gain"].iloc[0])
    summary = summary.copy()
    summary["oracle_share"] = frac
    return summary


def _fmt(x, digits=3, signed=False):
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _snr_table(summary, snr, order):
    head = (
        "| system | STOI | gain | ESTOI | gain | PESQ | gain | SI-SDR (dB) | gain "
        "| share of oracle IRM STOI gain |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    s = summary[summary.snr_db == snr].set_index("system")
    first = s.iloc[0]
    lines = [
        f"| noisy input | {_fmt(first.stoi_noisy)} | | {_fmt(first.estoi_noisy)} | | "
        f"{_fmt(first.pesq_noisy, 2)} | | {_fmt(first.si_sdr_noisy, 1)} | | |"
    ]
    for name in order:
        if name not in s.index or name == "unprocessed":
            continue
        r = s.loc[name]
        share = "" if name.startswith("oracle") else (
            "n/a" if not np.isfinite(r.oracle_share) else f"{100 * r.oracle_share:.0f} %")
        lines.append(
            f"| {name} | {_fmt(r.stoi)} | {_fmt(r.stoi_gain, signed=True)} | "
            f"{_fmt(r.estoi)} | {_fmt(r.estoi_gain, signed=True)} | "
            f"{_fmt(r.pesq, 2)} | {_fmt(r.pesq_gain, 2, True)} | "
            f"{_fmt(r.si_sdr, 1)} | {_fmt(r.si_sdr_gain, 1, True)} | {share} |"
        )
    return head + "\n".join(lines) + "\n"


def _condition_table(summary, snr, order):
    """STOI and PESQ gains on matched and on unseen noise, side by side, at one SNR."""
    s = summary[summary.snr_db == snr].set_index("system")
    head = (
        "| system | matched: STOI gain | matched: PESQ gain "
        "| unseen: STOI gain | unseen: PESQ gain |\n"
        "| --- | --- | --- | --- | --- |\n"
    )
    first = s.iloc[0]
    lines = [
        "| noisy input (STOI, PESQ) | "
        + " | ".join(
            f"{_fmt(first[f'stoi_noisy_{c}'])} | {_fmt(first[f'pesq_noisy_{c}'], 2)}"
            for c in CONDITIONS
        )
        + " |"
    ]
    for name in order:
        if name not in s.index or name == "unprocessed":
            continue
        r = s.loc[name]
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{_fmt(r[f'stoi_gain_{c}'], signed=True)} | {_fmt(r[f'pesq_gain_{c}'], 2, True)}"
                for c in CONDITIONS
            )
            + " |"
        )
    return head + "\n".join(lines) + "\n"


def _condition_section(summary, extras, order, snrs, snr0, heldout):
    """The matched-versus-unseen part of the report (Markdown lines)."""
    held = ", ".join(heldout)
    md = ["## Matched and unseen noise", ""]
    if not heldout or "n_unseen" not in summary.columns:
        return md + ["No noise kind was held out of training in this run.", ""]
    md += [
        f"The networks never heard **{held}** in training: its training recordings were "
        "dropped. Each test mixture is **matched** (its noise kind was in training, in other "
        f"recordings) or **unseen** ({held}). The tables give the mean gains over the mixtures "
        "of each condition alone; the noisy-input row gives the input's STOI and PESQ there. "
        "Unseen is one kind only, so a difference between the two column groups mixes not "
        "having heard the kind with how the mixtures themselves differ (the noise kinds, and "
        "which test utterances drew them); the baselines and oracle masks learn nothing from "
        "the training noise, so their difference between the groups shows the second part "
        "alone.",
        "",
    ]
    nets = [n for n in order if extras.get(n, {}).get("kind") == "network"]
    at0 = summary[summary.snr_db == snr0].set_index("system")
    nets = [n for n in nets if n in at0.index]
    if nets:
        best = max(nets, key=lambda n: at0.loc[n, "stoi"])
        r = at0.loc[best]
        md += [
            f"At {snr0:g} dB the best network by STOI on all test mixtures, {best}, gains STOI "
            f"{_fmt(r.stoi_gain_matched, signed=True)} on matched and "
            f"{_fmt(r.stoi_gain_unseen, signed=True)} on unseen noise, PESQ "
            f"{_fmt(r.pesq_gain_matched, 2, True)} and {_fmt(r.pesq_gain_unseen, 2, True)}.",
            "",
        ]
    for snr in snrs:
        r = summary[summary.snr_db == snr].iloc[0]
        md += [
            f"### {snr:g} dB ({int(r.n_matched)} matched, {int(r.n_unseen)} unseen test "
            "mixtures)",
            "",
            _condition_table(summary, snr, order),
        ]
    return md


def _kind_table(results, extras, order, snr, heldout=()):
    """STOI gain per test noise kind at one SNR: where the methods help and where not."""
    at = results[results.snr_db == snr]
    kinds = sorted(at.noise_kind.dropna().unique())
    if not kinds:
        return ""
    names = [f"{k} (unseen)" if k in heldout else k for k in kinds]
    head = "| system | " + " | ".join(names) + " |\n| --- |" + " --- |" * len(kinds) + "\n"
    rows = []
    noisy = at[at.system == order[0]].groupby("noise_kind")["stoi_noisy"].mean()
    rows.append("| noisy input (STOI) | " + " | ".join(f"{noisy.get(k, np.nan):.3f}" for k in kinds)
                + " |")
    for name in order:
        if name == "unprocessed" or extras.get(name, {}).get("kind") == "reference":
            continue
        g = at[at.system == name]
        gain = (g.stoi - g.stoi_noisy).groupby(g.noise_kind).mean()
        rows.append(f"| {name} | " + " | ".join(_fmt(gain.get(k, np.nan), signed=True)
                                             for k in kinds) + " |")
    return head + "\n".join(rows) + "\n"


def _checks(summary, extras):
    """The done-when checks of the comparison, stated with their numbers."""
    nets = [n for n, e in extras.items() if e.get("kind") == "network"]
    base = [n for n, e in extras.items() if e.get("kind") == "baseline"]
    if not nets:
        return []
    snrs = sorted(summary.snr_db.unique())
    snr0 = 0.0 if 0.0 in snrs else snrs[len(snrs) // 2]
    at0 = summary[summary.snr_db == snr0].set_index("system")
    best = max(nets, key=lambda n: at0.loc[n, "stoi"] if n in at0.index else -np.inf)
    lines = []
    g_stoi, g_pesq = at0.loc[best, "stoi_gain"], at0.loc[best, "pesq_gain"]
    ok = g_stoi >= 0.10 and g_pesq >= 0.3
    lines.append(
        f"- Best network at {snr0:g} dB: **{best}**, "
        f"STOI gain {g_stoi:+.3f} (target >= +0.10), PESQ gain {g_pesq:+.2f} (target >= +0.30): "
        f"**{'met' if ok else 'not met'}**."
    )
    for metric in ("stoi", "pesq"):
        beaten = []
        for snr in snrs:
            s = summary[summary.snr_db == snr].set_index("system")
            if best not in s.index:
                continue
            for b in base:
                if b in s.index and not s.loc[best, metric] > s.loc[b, metric]:
                    beaten.append(
                        f"{b} at {snr:g} dB ({s.loc[b, metric]:.3f} vs "
                        f"{s.loc[best, metric]:.3f})"
                    )
        lines.append(
            f"- {best} beats every non-oracle baseline on {LABELS[metric]} at every SNR: "
            + ("**met**." if not beaten else "**not met**: " + "; ".join(beaten) + ".")
        )
    return lines


def write_report(out, results, extras, test, example, settings, *, cache, quick, log):
    out = Path(out)
    summary = add_oracle_fraction(summarise(results), extras)
    results.to_csv(out / "results.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)

    order = sorted(
        summary.system.unique(),
        key=lambda n: (
            {"reference": 0, "baseline": 1, "network": 2, "oracle": 3}.get(
                extras.get(n, {}).get("kind"), 4),
            n,
        ),
    )
    figures = _figures(out, summary, extras, test, example, settings, cache, order)
    audio = _audio(out, extras, test, example, settings, cache)
    snrs = sorted(summary.snr_db.unique())
    nets = [n for n in order if extras.get(n, {}).get("kind") == "network"]
    seconds = {n: extras[n].get("seconds") for n in order if n in extras}

    md = ["# Model comparison on the bundled sample", ""]
    if quick:
        md += [
            "> **Quick run** (`--quick`): tiny networks trained for two epochs on a few utterances."
            " These numbers only show that the pipeline runs end to end; run `make analysis`"
            " for the real comparison.",
            "",
        ]
    heldout = tuple(getattr(settings, "heldout_kinds", ()))
    held = ", ".join(heldout)
    snr0 = 0.0 if 0.0 in snrs else snrs[len(snrs) // 2]
    md += [
        "Generated by `sksep compare" + (" --quick" if quick else "") + "` "
        "(the README's `make analysis`) on "
        f"{datetime.date.today().isoformat()}, sksep {_version()}, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
        "Every network is trained once on mixtures of the bundled sample's training split "
        f"(SNR drawn from {', '.join(f'{s:g}' for s in settings.snrs)} dB per mixture)"
        + (f", **without the noise kind held out of training: {held}**" if heldout else "")
        + ", and scored on the **speaker-disjoint and noise-disjoint test split**, every test "
        "utterance at every SNR. Gains are per-utterance differences to the noisy input, "
        "averaged. PESQ is narrow-band MOS-LQO "
        "(ITU-T P.862.1 mapping; `sksep.metrics.mos_lqo_to_raw` gives raw P.862). "
        "The share of the oracle is the STOI gain divided by the STOI gain of the oracle IRM "
        "in the same front end: the ceiling of any mask method there.",
        "",
        "## Checks",
        "",
        "On all test mixtures (matched and unseen noise together):",
        "",
        *(_checks(summary, extras) or ["- no network was trained in this run"]),
        "",
        *_condition_section(summary, extras, order, snrs, snr0, heldout),
        "## All test mixtures",
        "",
        "Means over every test mixture at each SNR, matched and unseen noise together "
        "(the section above splits them).",
        "",
    ]
    for snr in snrs:
        md += [f"### {snr:g} dB", "", _snr_table(summary, snr, order)]
    md += [
        f"## STOI gain by test noise kind at {snr0:g} dB",
        "",
        "The test noises are recordings never heard in training, of kinds that the training "
        "noises also have (except where a kind exists only in one split)"
        + (f"; {held} was held out of training altogether (unseen)" if heldout else "")
        + ".",
        "",
        _kind_table(results, extras, order, snr0, heldout),
    ]
    md += [
        "## The original project's results (a different corpus)",
        "",
        "From the original MATLAB project's card: 8 kHz, TIMIT speech with MUSAN noise, one "
        "model per SNR, PESQ as raw P.862. **A different corpus and protocol**: put beside ours "
        "for orientation only.",
        "",
        ORIGINAL_TABLE,
        "",
        "## Figures",
        "",
        *[f"![{title}]({path})\n" for title, path in figures],
        "## Audio examples",
        "",
        "One test utterance at the SNR shown in the figures (16-bit WAV):",
        "",
        *[f"- [{title}]({path})" for title, path in audio],
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(dataclasses.asdict(settings), indent=2, default=str),
        "```",
        "",
        "Held out of training (`heldout_kinds`): " + (held or "nothing") + ".",
        "",
        f"Networks trained: {', '.join(nets) or 'none'}. Time per system (seconds): "
        + ", ".join(f"{n}: {s}" for n, s in seconds.items() if s is not None)
        + ".",
        "",
        "Per-utterance scores: `results.csv`; means per system and SNR: `summary.csv`.",
        "",
        "Regenerate with `make analysis` (or `sksep compare`; `--quick` for the smoke run). "
        "Results are cached per system, so an interrupted run resumes.",
        "",
    ]
    (out / "README.md").write_text("\n".join(md))


def _version():
    from . import __version__

    return __version__


ORIGINAL_TABLE = (
    "| system | STOI 0 dB | PESQ 0 dB | STOI -2 dB | PESQ -2 dB |\n"
    "| --- | --- | --- | --- | --- |\n"
    "| unprocessed | 0.73 | 2.10 | 0.67 | 2.04 |\n"
    "| DNN_0, cochleagram | 0.82 | 2.37 | 0.77 | 2.31 |\n"
    "| CNN_0, cochleagram | 0.86 | 2.42 | 0.80 | 2.36 |\n"
    "| best STFT model | 0.81 | 2.32 | 0.77 | 2.24 |"
)


def slug(name):
    """File-name form of a system's name (also the key of its cached results)."""
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def _load_example(cache, name):
    path = Path(cache) / "results" / f"{slug(name)}.npz"
    return dict(np.load(path)) if path.exists() else {}


def _figures(out, summary, extras, test, example, settings, cache, order):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .comparison import _front_end

    made = []
    # 1. metric vs SNR (tab20: every system its own colour)
    colours = {name: plt.cm.tab20(i % 20) for i, name in enumerate(order)}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    for ax, m in zip(axes, METRICS):
        first = summary[summary.system == order[0]].sort_values("snr_db")
        ax.plot(first.snr_db, first[f"{m}_noisy"], "k--", label="noisy input")
        for name in order:
            if name == "unprocessed":
                continue
            s = summary[summary.system == name].sort_values("snr_db")
            style = ":" if name.startswith("oracle") else "-"
            ax.plot(s.snr_db, s[m], style, marker="o", ms=3, label=name, color=colours[name])
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(LABELS[m])
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(out / "metrics_vs_snr.png", dpi=110)
    plt.close(fig)
    made.append(("metrics vs SNR", "metrics_vs_snr.png"))

    # 2. training curves
    nets = [n for n in order if extras.get(n, {}).get("kind") == "network"]
    if nets:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=False)
        for ax, feature in zip(axes, ("stft", "cochleagram")):
            for n in nets:
                if extras[n].get("feature") != feature:
                    continue
                h = pd.DataFrame(extras[n].get("history", []))
                if h.empty:
                    continue
                line = ax.plot(h.epoch, h.train_loss, label=f"{extras[n]['network']} train")[0]
                if h.valid_loss.notna().any():
                    ax.plot(h.epoch, h.valid_loss, "--", color=line.get_color(),
                            label=f"{extras[n]['network']} valid")
            ax.set_title(f"training curves, {feature}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("MSE")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:  # a front end with no network trained: none
                ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "training_curves.png", dpi=110)
        plt.close(fig)
        made.append(("training curves", "training_curves.png"))

    # 3. clean / mixture / estimate / mask, in each front end's domain
    at = summary[summary.snr_db == float(test.snr_db[example])].set_index("system")
    for feature in ("stft", "cochleagram"):
        cands = [n for n in nets if extras[n].get("feature") == feature]
        if not cands:
            continue
        best = max(cands, key=lambda n: at.loc[n, "stoi"])
        ex = _load_example(cache, best)
        if "mask" not in ex:
            continue
        fe = _front_end(feature, settings)
        clean, noisy = test.clean[example], test.noisy[example]
        panels = [
            ("clean", 10 * np.log10(fe.power(clean) + 1e-10)),
            ("mixture", 10 * np.log10(fe.power(noisy) + 1e-10)),
            (f"estimate ({best})", 10 * np.log10(fe.power(ex["estimate"]) + 1e-10)),
            (f"estimated mask ({best})", ex["mask"]),
        ]
        fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
        top = panels[0][1].max()
        for ax, (title, img) in zip(axes, panels):
            kw = {"vmin": 0, "vmax": 1} if "mask" in title else {"vmin": top - 80, "vmax": top}
            im = ax.imshow(img.T, origin="lower", aspect="auto", cmap="magma", **kw)
            ax.set_title(title)
            ax.set_ylabel("bin" if feature == "stft" else "channel")
            fig.colorbar(im, ax=ax, pad=0.01)
        axes[-1].set_xlabel(f"frame (hop {fe.hop_length} samples)")
        fig.suptitle(
            f"{feature}: test utterance {test.meta['utterance_id'][example]} with "
            f"{test.meta['noise_kind'][example]} noise at {test.snr_db[example]:g} dB"
        )
        fig.tight_layout()
        name = f"example_{feature}.png"
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        made.append((f"clean, mixture, estimate and mask ({feature})", name))
    return made


def _audio(out, extras, test, example, settings, cache):
    from .io import save

    folder = out / "audio"
    folder.mkdir(exist_ok=True)
    made = []
    items = [("clean", test.clean[example]), ("noisy", test.noisy[example])]
    nets = [n for n, e in extras.items() if e.get("kind") == "network"]
    picks = [n for n in extras if extras[n].get("kind") in ("baseline", "oracle")][:1]
    picks += [n for n in ("oracle IRM, stft", "oracle IRM, cochleagram") if n in extras]
    picks += nets
    for name in dict.fromkeys(picks):
        ex = _load_example(cache, name)
        if "estimate" in ex:
            items.append((name, ex["estimate"]))
    for title, y in items:
        fname = f"{slug(title)}.wav"
        y = np.asarray(y, dtype=np.float32)
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > 0.999:
            y = y * (0.999 / peak)
        save(folder / fname, y, settings.sr, subtype="PCM_16")
        made.append((title, f"audio/{fname}"))
    return made
