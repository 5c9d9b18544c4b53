"""``seqjobs report``: real sweeps through the local executor, plus hand-made charlm/imdb run folders.

The Markov and IMDB sweeps are real (``seqjobs sweep ... --wait``). The
charlm and the seeded IMDB folders are written by hand in the run-folder
contract's format: they test the plotting and page code alone (seed bands,
Markov reference lines, sample tables) without training, which other test
files cover.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from jobs.report.data import pick_epochs
from jobs.report.markdown import generated, samples_table
from tests.helpers import REPO, assert_one_line_error, seqjobs

#: the reports here render real matplotlib figures (seconds each), one trains a real imdb sweep
pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_image(path: Path) -> None:
    """A real, non-blank PNG: right signature, decodes to a sizeable array with varied pixels."""
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300, pixels.shape
    assert float(np.std(pixels[..., :3])) > 0.05, f"{path} looks blank"


def linked_images(page: Path) -> list[str]:
    """Image links of report.md; each must name a file beside it."""
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    for link in links:
        assert (page.parent / link).is_file(), f"broken link {link} in {page}"
    return links


def write_run(path: Path, task: str, config: dict, result: dict, metrics: list[dict], data: dict) -> Path:
    """A completed run folder in the contract's format (config.json, metrics.csv, result.json)."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(
        json.dumps(
            {
                "task": task,
                "config": config,
                "seed": config["seed"],
                "data": data,
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    with (path / "metrics.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(metrics[0]))
        writer.writeheader()
        writer.writerows(metrics)
    (path / "result.json").write_text(json.dumps({"status": "completed", "task": task, **result}))
    return path


def fake_charlm_sweep(root: Path, text_file: Path, epochs: int = 5) -> Path:
    """Two depths x two seeds of charlm runs on ``text_file``, with samples that get better by epoch."""
    data = {"name": text_file.stem, "sha256": hashlib.sha256(text_file.read_bytes()).hexdigest()}
    for layers in (1, 2):
        for seed in (0, 1):
            bits = [3.5 - 0.3 * e - 0.1 * layers + 0.05 * seed for e in range(1, epochs + 1)]
            metrics = [
                {
                    "epoch": e,
                    "loss": round(b * 0.69 - 0.05, 4),
                    "val_loss": round(b * 0.693, 4),
                    "val_bits_per_char": b,
                    "seconds": 1.0,
                }
                for e, b in zip(range(1, epochs + 1), bits)
            ]
            config = {
                "corpus": str(text_file),
                "keep_case": False,
                "layers": layers,
                "units": 8,
                "epochs": epochs,
                "temperatures": [0.5, 1.0],
                "seed": seed,
            }
            run = write_run(
                root / f"layers={layers}_seed={seed}",
                "charlm",
                config,
                {"best_val_bits_per_char": min(bits)},
                metrics,
                data,
            )
            lines = [
                json.dumps(
                    {
                        "epoch": e,
                        "temperature": t,
                        "seed_text": "call me ishmael",
                        "text": f"<epoch {e} at {t}> a|b *c*\nnext line",
                    }
                )
                for e in range(1, epochs + 1)
                for t in (0.5, 1.0)
            ]
            (run / "samples.jsonl").write_text("\n".join(lines) + "\n{torn line")
    return root


def fake_imdb_sweep(root: Path) -> Path:
    """Embedding 4/16/64 x depth 1/2 x two seeds, accuracy rising with embedding size."""
    for emb in (4, 16, 64):
        for layers in (1, 2):
            for seed in (0, 1):
                acc = 0.6 + 0.05 * np.log2(emb) / 2 + 0.02 * layers + 0.01 * seed
                metrics = [
                    {
                        "epoch": e,
                        "loss": 0.7 / e,
                        "accuracy": acc - 0.1 / e,
                        "val_loss": 0.75 / e,
                        "val_accuracy": acc - 0.12 / e,
                        "seconds": 2.0,
                    }
                    for e in (1, 2, 3)
                ]
                config = {
                    "dataset": "rt-snippets",
                    "embedding_dim": emb,
                    "layers": layers,
                    "units": 8,
                    "epochs": 3,
                    "seed": seed,
                }
                write_run(
                    root / f"embedding-dim={emb}_layers={layers}_seed={seed}",
                    "imdb",
                    config,
                    {"test_accuracy": round(acc, 4)},
                    metrics,
                    {"name": "rt-snippets", "sha256": "ab" * 32},
                )
    return root


def test_markov_sweep_report_lists_failed_runs(tmp_path: Path, small_text: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")  # empty: these runs fail inside the job
    seqjobs(
        "sweep",
        "markov",
        "--grid",
        f"corpus={small_text},{broken}",
        "--grid",
        "order=1,2",
        "--grid",
        "level=char,word",
        "--executor",
        "local",
        "--name",
        "t",
        "--wait",
        "--root",
        "runs",
        cwd=tmp_path,
        timeout=300,
    )
    proc = seqjobs("report", "runs/t", cwd=tmp_path, check=True)
    page = tmp_path / "runs/t/report/report.md"
    assert str(page.relative_to(tmp_path)) in proc.stdout
    assert linked_images(page) == ["markov_bits_by_order.png"]
    assert_image(page.parent / "markov_bits_by_order.png")
    text = page.read_text(encoding="utf-8")
    assert "**8 runs: 4 completed, 4 failed.** 4 runs are not in the plots" in text and "(4: 4 failed)" in text
    failed_rows = [ln for ln in text.splitlines() if "broken" in ln and "| failed |" in ln]
    assert len(failed_rows) == 4 and all("empty" in ln for ln in failed_rows)
    summary = text.split("### markov")[1].split("\n\n")[1].splitlines()
    assert summary[0].startswith("| order | level | heldout_bits_per_symbol_mean")
    rows = [row.split("|") for row in summary[2:]]
    assert len(rows) == 4
    for level in ("char", "word"):  # bits per char and bits per word are ranked apart, each best first
        means = [float(r[3]) for r in rows if r[2].strip() == level]
        assert len(means) == 2 and means == sorted(means)


def test_charlm_report_with_markov_references_and_samples(
    tmp_path: Path, small_text: Path, cli: Callable[..., Result]
) -> None:
    fake_charlm_sweep(tmp_path / "runs/cl", small_text)
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "order=1,2,3",
        "--grid",
        "smoothing-method=dirichlet,kneser-ney",
        "--executor",
        "local",
        "--name",
        "mk",
        "--wait",
        "--root",
        "runs",
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    runs = tmp_path / "runs"
    from jobs.report.data import load, markov_references

    data = load([runs / "cl", runs / "mk"])
    refs = markov_references(data.runs, data.task("charlm"))
    chains = data.task("markov")
    # one line per smoothing method, at its best order; never a mean of the two methods' chains
    assert sorted(refs["variant"]) == ["smoothing-method=dirichlet", "smoothing-method=kneser-ney"]
    for ref in refs.itertuples():
        own = chains[chains["smoothing_method"] == ref.variant.split("=")[1]]
        best = own.loc[own["heldout_bits_per_symbol"].idxmin()]
        assert (ref.order, ref.bits) == (best["order"], pytest.approx(best["heldout_bits_per_symbol"]))
    assert cli("report", str(runs / "cl"), str(runs / "mk"), "-o", str(tmp_path / "out")).exit_code == 0
    page = tmp_path / "out/report.md"
    links = linked_images(page)
    assert links == ["markov_bits_by_order.png", "charlm_curves.png", "charlm_val_bits.png"]
    for link in links:
        assert_image(page.parent / link)
    text = page.read_text(encoding="utf-8")
    assert "the best order of each Markov chain of the same text as a horizontal line" in text
    assert "### charlm: `best_val_bits_per_char` (lower is better)" in text
    assert text.index("| 2 | 1.8250 | 0.0354 | 2 |") < text.index("| 1 | 1.9250 | 0.0354 | 2 |")  # best (lowest) first
    samples = text.split("### Samples")[1]
    assert samples.count("| temperature | epoch 1 | epoch 3 | epoch 5 |") == 2  # one table per depth
    assert r"\<epoch 5 at 1.0\> a\|b \*c\*<br>next line" in samples  # escaped: the table stays intact


def test_charlm_report_alone_says_how_to_get_markov_lines(tmp_path: Path, small_text: Path) -> None:
    from jobs.report.build import write_report
    from jobs.report.data import load, markov_references

    sweep = fake_charlm_sweep(tmp_path / "cl", small_text, epochs=1)
    page = write_report([sweep], tmp_path / "rep")
    assert "give a char-level `markov` sweep of the same text" in page.read_text(encoding="utf-8")
    assert "| temperature | epoch 1 |\n" in page.read_text(encoding="utf-8")
    data = load([sweep])
    assert markov_references(data.runs, data.task("charlm")).empty


def test_imdb_report_with_seed_bands(tmp_path: Path, cli: Callable[..., Result]) -> None:
    sweep = fake_imdb_sweep(tmp_path / "runs/im")
    result = cli("report", str(sweep))
    assert result.exit_code == 0 and "3 plot(s)" in result.output
    page = sweep / "report/report.md"
    assert linked_images(page) == ["imdb_curves.png", "imdb_accuracy_heatmap.png", "imdb_accuracy_by_embedding.png"]
    for name in linked_images(page):
        assert_image(page.parent / name)
    summary = page.read_text(encoding="utf-8").split("### imdb")[1].split("\n\n")[1].splitlines()
    assert summary[2].startswith("| 64 | 2 | 0.7950 | 0.0071 | 2 |")  # best first, mean and std over 2 seeds


def test_real_imdb_sweep_report(tmp_path: Path, cli: Callable[..., Result]) -> None:
    reviews = tmp_path / "reviews.csv"
    rng = np.random.default_rng(0)
    words = {1: "good great superb fine".split(), 0: "bad awful dull poor".split()}
    filler = "the movie film plot actor scene was and it story".split()
    with reviews.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        for i in range(200):
            label = i % 2
            out.writerow([" ".join(rng.choice(filler, 6).tolist() + rng.choice(words[label], 2).tolist()), label])
    seqjobs(
        "sweep",
        "imdb",
        "--dataset",
        str(reviews),
        "--grid",
        "embedding-dim=4,8",
        "--grid",
        "layers=1,2",
        "--epochs",
        "1",
        "--units",
        "4",
        "--maxlen",
        "12",
        "--top-words",
        "40",
        "--limit",
        "200",
        "--executor",
        "local",
        "--array-parallelism",
        "1",  # one worker: TensorFlow is imported once, not per run
        "--name",
        "im",
        "--wait",
        "--root",
        "runs",
        cwd=tmp_path,
        timeout=600,
        check=True,
    )
    assert cli("report", str(tmp_path / "runs/im")).exit_code == 0
    page = tmp_path / "runs/im/report/report.md"
    text = page.read_text(encoding="utf-8")
    assert "4 runs: 4 completed" in text
    summary = text.split("### imdb")[1].split("\n\n")[1].splitlines()
    assert summary[0].startswith("| embedding_dim | layers | test_accuracy_mean") and len(summary) == 2 + 4
    assert "imdb_accuracy_heatmap.png" in linked_images(page)
    for name in linked_images(page):
        assert_image(page.parent / name)


def test_path_without_runs_is_one_line_exit_2(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_line_error(seqjobs("report", "empty", cwd=tmp_path), "no run folders under empty")  # the real console
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(cli("report", "nowhere"), "nowhere does not exist")
    assert not (tmp_path / "empty/report").exists()
    fake_imdb_sweep(tmp_path / "im")
    (tmp_path / "taken").write_text("a file")
    assert_one_line_error(cli("report", "im", "-o", "taken"), "taken exists and is not a folder")


def test_cli_loads_matplotlib_only_for_a_report_and_never_tensorflow(tmp_path: Path) -> None:
    sweep = fake_imdb_sweep(tmp_path / "im")
    code = (
        "import sys, jobs.cli; from pathlib import Path\n"
        "assert 'matplotlib' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "from jobs.report.build import write_report\n"
        f"write_report([Path({str(sweep)!r})], Path({str(tmp_path / 'out')!r}))\n"
        "assert 'matplotlib' in sys.modules and 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize(
    ("epochs", "picked"), [([1], [1]), ([1, 2], [1, 2]), ([3, 1, 2], [1, 2, 3]), (list(range(1, 11)), [1, 6, 10])]
)
def test_pick_epochs(epochs: list[int], picked: list[int]) -> None:
    assert pick_epochs(epochs) == picked


def test_generated_text_cannot_break_a_table() -> None:
    assert generated("a|b\n*c* `d` <e>") == r"a\|b<br>\*c\* \`d\` \<e\>"
    table = samples_table([{"epoch": 2, "temperature": 0.5, "seed_text": "s|", "text": "x\ny"}])
    rows = table.splitlines()
    assert len(rows) == 4 and all(re.sub(r"\\\|", "", row).count("|") == 3 for row in rows)


def test_a_big_halving_figure_names_the_finalists_and_counts_the_others() -> None:
    """48 configurations would run off the figure: the legend names the one that reached the last rung and
    counts the 47 others; a sweep of a few configurations names them all."""
    from jobs.report.plots import MAX_LEGEND, halving_legend

    many = [(f"lr={i}", "C0", i == 7) for i in range(48)]
    assert [h.get_label() for h in halving_legend(many)] == ["lr=7", "47 other configurations, stopped earlier (x)"]
    few = many[:MAX_LEGEND]
    assert [h.get_label() for h in halving_legend(few)] == [name for name, _, _ in few]


def drawn_figure(draw: Callable[[Path], object], tmp_path: Path):  # noqa: ANN201 -- a matplotlib Figure
    """The figure ``draw`` (a plots function given its output path) would save, drawn instead of written."""
    drawn = {}

    def keep(fig, path):  # noqa: ANN001, ANN202 -- capture the figure instead of writing it
        fig.canvas.draw()
        drawn["fig"] = fig
        return path

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("jobs.report.plots.save", keep)
        draw(tmp_path / "x.png")
    return drawn["fig"]


def test_a_figure_of_many_groups_keeps_its_plot_and_names_the_first_groups_below_it(tmp_path: Path) -> None:
    """A random search makes a group of every configuration: 27 names right of the plot left it no width."""
    import pandas as pd

    from jobs.report.plots import MAX_LEGEND, learning_curves

    epochs = pd.DataFrame(
        [
            {"dropout": 0.1 + i / 1000, "seed": 0, "epoch": e, "loss": 1 / e, "val_loss": 1.1 / e}
            for i in range(27)
            for e in (1, 2, 3)
        ]
    )
    panels = [("loss", [("loss", "training"), ("val_loss", "validation")])]
    fig = drawn_figure(lambda path: learning_curves(epochs, ["dropout"], panels, "t", path), tmp_path)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[: MAX_LEGEND - 1] == [f"dropout={0.1 + i / 1000:.4g}" for i in range(MAX_LEGEND - 1)]
    assert labels[MAX_LEGEND - 1 :] == ["... and 16 more (see the summary table)", "training", "validation"]
    (ax,) = fig.axes
    assert ax.get_position().width > 0.5 and ax.get_position().height > 0.3  # the plot kept its room


def test_a_long_label_puts_the_legend_below_the_plot(tmp_path: Path) -> None:
    """Reference lines named with their smoothing method left the plot half the figure's width beside them."""
    import pandas as pd

    from jobs.report.plots import bits_with_references

    epochs = pd.DataFrame([{"seed": 0, "epoch": e, "val_bits_per_char": 3 - e / 10} for e in range(1, 6)])
    refs = pd.DataFrame([{"data_name": "t", "variant": "smoothing-method=kneser-ney", "order": 6, "bits": 2.5}])
    fig = drawn_figure(lambda path: bits_with_references(epochs, [], refs, path), tmp_path)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["all runs", "Markov order 6 (smoothing-method=kneser-ney): 2.500"]
    (ax,) = fig.axes
    legend_box = legend.get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0  # below the plot, not beside it
    assert ax.get_position().width > 0.7  # beside a legend it was under 0.5
