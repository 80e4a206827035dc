"""Mutation check: every robustness test is seen failing against a deliberately broken copy.

``make mutants`` (a few minutes). For each mutant the package, the tests and the scripts are
copied to a temporary folder, one edit breaks the copy, and the tests that should notice run
there. The mutant is *caught* when they fail. The unbroken copy must pass the same tests first,
so a caught mutant means the edit was noticed, not that the test was failing anyway. Every
test listed for a mutant must fail (in at least one of its parametrized cases).

Two families of mutants:

* ``bad-input/<row>``, derived: for every row of ``tests/test_bad_input.py`` the row is run, the
  ``raise`` it triggers is located in the package, and the ``if`` guarding it becomes
  ``if False:``: the check is gone, and the row must notice.
* the mutants listed in :data:`MUTANTS`: the property tests against their references, the
  interruption, provisioning and determinism tests, and the offline wrapper.

Usage: ``python scripts/mutants.py [-k SUBSTRING] [--list] [--jobs N]``; exit status 1 when a
mutant survives or the unbroken copy fails.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ["cnncourse", "tests", "scripts", "lessons", "conftest.py", "pyproject.toml", "nbval-sanitize.cfg"]


@dataclass(frozen=True)
class Mutant:
    """One deliberate break: ``edits`` are ``(old, new)`` replacements in ``path`` (each ``old``
    must occur exactly once); ``tests`` are the pytest node ids that must then fail."""

    name: str
    path: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]


def _t(module: str, *names: str) -> tuple[str, ...]:
    return tuple(f"tests/{module}.py::{n}" for n in names)


MUTANTS = [
    # filters: the property tests against torch's conv2d and scipy.ndimage.correlate
    Mutant("correlate-flips-kernel", "cnncourse/filters.py",
           (('w[:, :, a, b], under_tap)', 'w[:, :, kh - 1 - a, kw - 1 - b], under_tap)'),),
           _t("test_filters", "test_property_zero_mode_matches_conv2d",
              "test_property_extend_matches_scipy_and_linearity")),
    Mutant("extend-pads-with-zeros", "cnncourse/filters.py",
           (('    if edge == "zero":\n        out = x.new_zeros', '    if edge in ("zero", "extend"):\n        out = x.new_zeros'),),
           _t("test_filters", "test_property_extend_matches_scipy_and_linearity")),
    Mutant("zero-pads-by-extending", "cnncourse/filters.py",
           (('    if edge == "zero":\n        out = x.new_zeros', '    if False:\n        out = x.new_zeros'),),
           _t("test_filters", "test_property_zero_mode_matches_conv2d")),
    Mutant("output-size-rounds-up", "cnncourse/geometry.py",
           (("n = (span + (stride - 1 if ceil_mode else 0)) // stride + 1", "n = (span + stride - 1) // stride + 1"),),
           _t("test_filters", "test_property_output_size_counts_the_kernel_positions")),
    # geometry: the property tests against real Conv2d / MaxPool2d / AvgPool2d layers
    Mutant("ceil-mode-keeps-a-window-past-the-input", "cnncourse/geometry.py",
           (("    if ceil_mode and (n - 1) * stride >= size + before:", "    if False:"),),
           _t("test_geometry", "test_property_output_shape_matches_torch_layers")),
    Mutant("same-padding-symmetric", "cnncourse/geometry.py",
           (("return total // 2, total - total // 2", "return total // 2, total // 2"),),
           _t("test_geometry", "test_property_output_shape_matches_torch_layers",
              "test_padding_amounts_same_is_asymmetric_for_even_kernels")),
    Mutant("same-padding-ignores-dilation", "cnncourse/geometry.py",
           (("        total = dilation * (kernel_size - 1)\n", "        total = kernel_size - 1\n"),),
           _t("test_geometry", "test_property_output_shape_matches_torch_layers", "test_min_input_size_of_the_issue_cases")),
    Mutant("min-input-size-one-too-large", "cnncourse/geometry.py",
           (("        sides.append(high)", "        sides.append(high + 1)"),),
           _t("test_geometry", "test_property_min_input_size_matches_torch")),
    Mutant("models-ignore-ceil-mode", "cnncourse/geometry.py",
           (("        return [layer_geometry(m) for m in layers.modules() if isinstance(m, kinds)]",
             "        return [__import__('dataclasses').replace(layer_geometry(m), ceil_mode=False)\n"
             "                for m in layers.modules() if isinstance(m, kinds)]"),),
           _t("test_models_cnn", "test_min_input_size_follows_pytorch")),
    # exercises: one answer-handling path
    Mutant("checker-accepts-nan", "cnncourse/exercises/feedback.py",
           (("    if not math.isfinite(number):", "    if False:"),),
           _t("test_exercises_feedback", "test_the_issue_cases", "test_numbers_of_every_type_are_read")),
    Mutant("checker-misses-forgotten-return", "cnncourse/exercises/feedback.py",
           (("    if result is None:", "    if False:"),),
           _t("test_exercises_feedback", "test_the_issue_cases")),
    Mutant("checker-lets-learner-errors-through", "cnncourse/exercises/feedback.py",
           (("    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything",
             "    except ArithmeticError as exc:  # noqa: BLE001 - the learner's code may raise anything"),),
           _t("test_exercises_feedback", "test_every_checker_answers_every_bad_answer_with_feedback")),
    Mutant("checker-reads-grad-tensors-raw", "cnncourse/exercises/feedback.py",
           (("    value = _numbers_of(answer, exercise, what) if isinstance(answer, torch.Tensor) else answer\n",
             "    value = answer.numpy() if isinstance(answer, torch.Tensor) else answer\n"),),
           _t("test_exercises_feedback", "test_the_issue_cases")),
    # training and evaluation contracts
    Mutant("checkpoint-is-weights-only", "cnncourse/training.py",
           (("                    save_checkpoint(checkpoint, model, epoch=epoch, val_loss=record.val_loss,\n"
             "                                    **_training_state(optimizer, scheduler, train, history, best, since_best))",
             "                    save_checkpoint(checkpoint, model, epoch=epoch, val_loss=record.val_loss)"),),
           _t("test_training", "test_a_best_checkpoint_can_be_resumed_from")),
    Mutant("rates-read-as-counts", "cnncourse/evaluation.py",
           (("    counts = not m.is_floating_point()", "    counts = True"),),
           _t("test_evaluation", "test_most_confused_pairs_takes_a_row_normalised_matrix")),
    # the data folder
    Mutant("intact-folder-is-locked", "cnncourse/data.py",
           (("    if not force and not mnist_problems(root):  # intact", "    if False:  # intact"),),
           _t("test_data", "test_intact_data_needs_no_lock_so_a_read_only_folder_works")),
    Mutant("directory-left-in-place", "cnncourse/data.py",
           (("                shutil.rmtree(raw / name)", "                pass"),),
           _t("test_data", "test_a_directory_where_a_file_should_be_is_reported_and_repaired")),
    Mutant("repair-is-silent", "cnncourse/data.py",
           (("        if verbose:\n            found = ", "        if False:\n            found = "),),
           _t("test_data", "test_a_repair_says_which_file_was_damaged_and_how",
              "test_a_directory_where_a_file_should_be_is_reported_and_repaired")),
    # pooling: the property test against torch's max_pool2d / avg_pool2d
    Mutant("pool-takes-the-minimum", "cnncourse/pooling.py",
           (("result = torch.maximum(result, part)", "result = torch.minimum(result, part)"),),
           _t("test_pooling", "test_property_matches_torch")),
    Mutant("pool-window-one-row-short", "cnncourse/pooling.py",
           (("    for a in range(kh):            # offset", "    for a in range(max(kh - 1, 1)):  # offset"),),
           _t("test_pooling", "test_property_matches_torch")),
    # receptive fields: the property test against the support of real gradients
    Mutant("field-size-ignores-the-jump", "cnncourse/receptive_field/_windows.py",
           (("size[a] = size[a] + (k - 1) * jump[a]", "size[a] = size[a] + (k - 1)"),),
           _t("test_receptive_field", "test_gradient_support_matches_the_theory")),
    Mutant("jump-forgets-earlier-strides", "cnncourse/receptive_field/_windows.py",
           (("jump[a] = jump[a] * g.stride[b]", "jump[a] = g.stride[b]"),),
           _t("test_receptive_field", "test_gradient_support_matches_the_theory")),
    Mutant("start-ignores-padding", "cnncourse/receptive_field/_windows.py",
           (("- g.padding[b][0]) * jump[a]", ") * jump[a]"),),
           _t("test_receptive_field", "test_gradient_support_matches_the_theory")),
    Mutant("branches-keep-the-first-field", "cnncourse/receptive_field/_field.py",
           (("size.append(round(hi - lo) + 1)", "size.append(first.size[a])"),),
           _t("test_receptive_field", "test_residual_branches_take_the_union")),
    # training: non-finite loss, atomic checkpoints, exact resume, seeding
    Mutant("loss-not-checked", "cnncourse/training.py",
           (("    if not bool(torch.isfinite(loss)):", "    if False:"),),
           _t("test_interruption", "test_non_finite_loss_stops_with_a_hint")
           + _t("test_bad_input", "test_nan_input_to_training_is_reported")),
    Mutant("checkpoint-written-in-place", "cnncourse/runtime.py",
           (("    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f\".{path.name}.\", suffix=\".tmp\")\n"
             "    try:\n        with os.fdopen(fd, \"wb\") as fh:",
             "    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f\".{path.name}.\", suffix=\".tmp\")\n"
             "    os.close(fd)\n    tmp = path\n    try:\n        with open(path, \"wb\") as fh:"),),
           _t("test_interruption", "test_checkpoint_survives_a_kill_during_save")),
    Mutant("resume-forgets-the-shuffle-state", "cnncourse/training.py",
           (('        generator.set_state(state["loader"])', "        pass"),),
           _t("test_interruption", "test_resume_gives_the_uninterrupted_result")),
    Mutant("seed-skips-torch", "cnncourse/runtime.py",
           (("    torch.manual_seed(seed)  # seeds", "    pass  # seeds"),),
           _t("test_runtime", "test_seeding_repeats_random_numbers")),
    # speed: the measured configuration, the recipes, the throughput count
    Mutant("config-ignores-margin", "cnncourse/runtime.py",
           (("        if rate >= margin * rates[chosen]:", "        if rate > rates[chosen]:"),),
           _t("test_runtime", "test_choice_needs_the_margin")),
    Mutant("config-not-recorded", "cnncourse/runtime.py",
           (("            if stored is not None:\n                return stored",
             "            if False:\n                return stored"),),
           _t("test_runtime", "test_a_choice_recorded_first_by_another_process_wins")),
    Mutant("recipe-without-smoothing", "cnncourse/recipes.py",
           (("loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)", "loss_fn=nn.CrossEntropyLoss()"),),
           _t("test_recipes", "test_train_label_smoothing_changes_the_loss")),
    Mutant("run-model-lets-torch-errors-through", "cnncourse/_checks.py",
           (("    except RuntimeError as exc:\n        reason = str(exc)",
             "    except ZeroDivisionError as exc:\n        reason = str(exc)"),),
           _t("test_models_cnn", "test_an_input_the_model_refuses_is_named")),
    Mutant("flops-counted-twice-reset", "cnncourse/speed.py",
           (("        loss.backward()\n    return counter", "    with counter:\n        loss.backward()\n    return counter"),),
           _t("test_speed", "test_flops_per_image_of_a_linear_layer")),
    # data: the lock, the hash check
    Mutant("provision-without-lock", "cnncourse/data.py",
           (("    with _lock(raw.parent):", "    with contextlib.nullcontext():"),),
           _t("test_interruption", "test_two_processes_provision_at_once")),
    Mutant("hash-not-checked", "cnncourse/data.py",
           (("            if actual != spec.sha256:", "            if False:"),),
           _t("test_data", "test_damage_is_detected_and_repaired")),
    # the offline wrapper and the output comparison of make test-outputs
    Mutant("offline-wrapper-keeps-the-network", "scripts/offline",
           (("then\n    exec unshare -n", "then\n    exec \"$@\"\n    exec unshare -n"),),
           _t("test_offline", "test_offline_wrapper_cuts_the_network_but_lessons_still_run")),
    Mutant("sanitize-hides-numbers", "nbval-sanitize.cfg",
           (("", "[every-number]\nregex: \\d+(\\.\\d+)?\nreplace: NUMBER\n\n"),),
           _t("test_output_comparison", "test_unchanged_outputs_pass_and_an_altered_output_fails",
              "test_sanitize_file_keeps_computed_numbers")),
    # the grader: its guard against writes outside the scratch copy, and checkers that never
    # run where the submission ran (each mutant grades a small class, about a minute)
    Mutant("grader-without-its-guard", "cnncourse/teaching/grade.py",
           (("    sys.addaudithook(hook)\n", "    pass\n"),),
           _t("test_teaching_grade", "test_writes_outside_the_scratch_copy_are_refused_and_reported")),
    Mutant("grader-trusts-the-kernels-verdict", "cnncourse/teaching/grade.py",
           (("        feedback = checkers[exercise.checker](*answers, *args, **kwargs)\n",
             "        feedback = checkers[exercise.checker](*answers, *args, **kwargs)\n"
             "        if any(callable(a) for a in answers):\n"
             "            feedback = Feedback(exercise.name, True, 'the kernel says so')\n"),),
           _t("test_teaching_grade", "test_patching_the_checkers_gains_nothing")),
    # the PDF in the site must be readable by a web server running as another user (issue 34)
    Mutant("pdf-copied-0600", "scripts/pdf.py",
           (("        os.chmod(tmp, 0o644)\n", ""),),
           _t("test_pdf_script", "test_the_copied_pdf_is_readable_by_others")),
    # the palette set once in plots._layout is the colour-vision-safe one (issue 34)
    Mutant("palette-back-to-tab10", "cnncourse/plots/_layout.py",
           (('PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",',
             'PALETTE = {"blue": "#1f77b4", "orange": "#ff7f0e", "green": "#2ca02c", "vermillion": "#d62728",'),),
           _t("test_plots_colours", "test_the_first_six_colours_stay_apart")),
]


def bad_input_mutants() -> list[Mutant]:
    """One mutant per row of ``tests/test_bad_input.py``: the check that row triggers, removed."""
    spec = importlib.util.spec_from_file_location("test_bad_input", REPO / "tests" / "test_bad_input.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutants = []
    for name, call, _error, _fragments in module.CASES:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every row raises; where is what matters
            frame = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(REPO / "cnncourse"))][-1]
        else:
            raise SystemExit(f"bad-input row {name!r} raised nothing: fix the row first")
        path = Path(frame.filename).relative_to(REPO)
        old, new = _remove_check(REPO / path, frame.lineno)
        node = f"tests/test_bad_input.py::test_bad_input_is_explained[{name}]"
        mutants.append(Mutant(f"bad-input/{name}", str(path), ((old, new),), (node,)))
    return mutants


def _remove_check(path: Path, raise_line: int) -> tuple[str, str]:
    """The edit that makes the ``if`` guarding the ``raise`` on ``raise_line`` never true (or,
    for a raise in an ``else:`` branch, always true)."""
    source = path.read_text()
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    target = next(n for n in ast.walk(tree) if isinstance(n, ast.Raise) and n.lineno == raise_line)
    node = target
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If):
            test = parent.test
            lines = source.splitlines(keepends=True)
            first, last = test.lineno - 1, test.end_lineno - 1
            start = len(lines[first].encode()[:test.col_offset].decode())
            end = len(lines[last].encode()[:test.end_col_offset].decode())
            mutated = lines[first][:start] + ("False" if node in parent.body else "True") + lines[last][end:]
            old, new = "".join(lines[first:last + 1]), mutated
            while source.count(old) != 1:  # add following lines until the edit is unambiguous
                last += 1
                old, new = old + lines[last], new + lines[last]
            return old, new
        node = parent
    raise SystemExit(f"{path}:{raise_line}: the raise is not guarded by an if")


def _copy(into: Path) -> None:
    for item in COPIED:
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, into / item, ignore=shutil.ignore_patterns("__pycache__", "site", ".hypothesis"))
        else:
            shutil.copy2(source, into / item)


def _apply(root: Path, mutant: Mutant) -> None:
    path = root / mutant.path
    text = path.read_text()
    for old, new in mutant.edits:
        if old == "":  # prepend
            text = new + text
            continue
        if text.count(old) != 1:
            raise SystemExit(f"mutant {mutant.name}: {old!r} occurs {text.count(old)} times in {mutant.path}")
        text = text.replace(old, new)
    path.write_text(text)


def _pytest(root: Path, tests: tuple[str, ...]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``tests`` in the copy at ``root``; return the result and the node ids (parameters
    stripped) of the tests that failed."""
    env = dict(os.environ, CNNCOURSE_DATA=str(REPO / "data"), OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    report = root / "report.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"--junitxml={report}", *tests],
                            cwd=root, env=env, capture_output=True, text=True, timeout=900)
    failed = set()
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                module = case.get("classname", "").replace(".", "/")
                failed.add(f"{module}.py::{case.get('name', '')}")
    return result, failed


def _noticed(test: str, failed: set[str]) -> bool:
    """Did ``test`` (a node id, with or without parameters) fail, in at least one of its cases?"""
    return test in failed or any(f.startswith(test + "[") for f in failed)


def run_mutant(mutant: Mutant) -> tuple[Mutant, list[str], float, str]:
    """Copy, break, test: ``(mutant, tests that did not notice, seconds, end of the output)``."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnncourse-mutant-") as tmp:
        root = Path(tmp)
        _copy(root)
        _apply(root, mutant)
        result, failed = _pytest(root, mutant.tests)
    missed = [t for t in mutant.tests if not _noticed(t, failed)]
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-3:])
    return mutant, missed, time.perf_counter() - start, tail


def baseline(mutants: list[Mutant]) -> None:
    """The unbroken copy passes every test the mutants use, and imports the copied package."""
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    with tempfile.TemporaryDirectory(prefix="cnncourse-baseline-") as tmp:
        root = Path(tmp)
        _copy(root)
        probe = subprocess.run([sys.executable, "-c", "import cnncourse; print(cnncourse.__file__)"],
                               cwd=root, capture_output=True, text=True)
        if not probe.stdout.strip().startswith(str(root)):
            raise SystemExit(f"the copy imports cnncourse from {probe.stdout.strip()}, not from the copy")
        result, _ = _pytest(root, tests)
        if result.returncode != 0:
            raise SystemExit("the unbroken copy fails the tests the mutants use:\n" + result.stdout[-3000:])
    print(f"unbroken copy: {len(tests)} tests pass")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="print the mutants and their tests, run nothing")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args(argv)
    mutants = [m for m in bad_input_mutants() + MUTANTS if args.k in m.name]
    if args.list:
        for m in mutants:
            print(f"{m.name}\n  {m.path}: {m.edits[0][0].strip()[:70]!r} -> {m.edits[0][1].strip()[:70]!r}")
            print("".join(f"  {t}\n" for t in m.tests), end="")
        return 0
    baseline(mutants)
    survivors = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for mutant, missed, seconds, tail in pool.map(run_mutant, mutants):
            print(f"{'SURVIVED' if missed else 'caught  '} {seconds:5.1f} s  {mutant.name}", flush=True)
            if missed:
                survivors.append(mutant)
                print("".join(f"  not noticed by {t}\n" for t in missed) + "  " + tail.replace("\n", "\n  "))
    print(f"{len(mutants) - len(survivors)} of {len(mutants)} mutants caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
