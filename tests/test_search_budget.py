"""#26: `kdedge search --time-budget` and its pruner (asynchronous successive halving over epochs)."""

import json
import time

import pytest
from typer.testing import CliRunner

from kdedge.budget_search.pruning import ETA, EpochWatch, TrialStopped, parse_duration, rungs, should_stop
from kdedge.cli import app
from kdedge.errors import OptionError

runner = CliRunner()


def test_rungs_and_the_promotion_rule_by_hand():
    assert rungs(100) == [11, 33] and rungs(27) == [3, 9] and rungs(9) == [1, 3] and rungs(2) == [1]
    assert ETA == 3
    assert not should_stop(0.1, [0.9])  # fewer than 3 trials at the rung: every one goes on
    assert should_stop(0.5, [0.9, 0.8])  # top 1/3 of 3 values is the best one (0.9)
    assert not should_stop(0.95, [0.9, 0.8])
    assert should_stop(0.7, [0.9, 0.8, 0.6, 0.5, 0.4])  # 6 values: the top 2 are 0.9 and 0.8
    assert not should_stop(0.8, [0.9, 0.7, 0.6, 0.5, 0.4])


def test_durations():
    assert parse_duration("30m") == 1800 and parse_duration("2h") == 7200 and parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90 and parse_duration("45") == 45 and parse_duration(12.5) == 12.5
    for bad in ("soon", "0m", "-3", ""):
        with pytest.raises(OptionError, match="--time-budget"):
            parse_duration(bad)


class _Trial:
    """Stands in for optuna's Trial with the two things the watch reads: its own attributes and the study's."""

    def __init__(self, number, study):
        self.number, self.study, self.user_attrs = number, study, {}

    def set_user_attr(self, key, value):
        self.user_attrs[key] = value


class _Study:
    def __init__(self):
        self.trials = []

    def get_trials(self, deepcopy=False):
        return self.trials


def test_the_watch_stops_a_trial_outside_the_top_third_and_after_the_deadline():
    study = _Study()
    scores = [0.9, 0.8, 0.5]
    for number, score in enumerate(scores):
        trial = _Trial(number, study)
        study.trials.append(trial)
        watch = EpochWatch(trial, max_epochs=9, deadline=None)
        watch(2, score)  # not a rung: nothing recorded
        if number < 2:
            watch(1, score)
        else:
            with pytest.raises(TrialStopped, match="pruned at epoch 1"):
                watch(1, score)
        assert trial.user_attrs["rung 1"] == score
    late = EpochWatch(_Trial(9, study), max_epochs=9, deadline=time.time() - 1)
    with pytest.raises(TrialStopped, match="time budget"):
        late(5, 0.99)
    assert EpochWatch(_Trial(10, study), 9, None, prune=False).rungs == set()  # --no-prune


def test_a_time_budgeted_search_prunes_keeps_the_budget_and_resumes(tmp_path, teacher_run):
    out = tmp_path / "s"
    args = ["--teacher", teacher_run.path, "--families", "mlp", "--max-epochs", 9, "--min-seconds", 0.02]
    start = time.monotonic()
    r = runner.invoke(app, ["search", *map(str, args), "--time-budget", "25s", "--out", str(out), "--json"])
    spent = time.monotonic() - start
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["completed"] >= 1 and summary["trials"] > summary["completed"]
    assert spent < 25 + 60  # the trials stop at the budget; the tables and the final test bench come after
    import optuna

    from kdedge.budget_search.study import STUDY_NAME, _storage

    trials = optuna.load_study(study_name=STUDY_NAME, storage=_storage(out)).trials
    pruned = [t for t in trials if t.state.name == "PRUNED" and "pruned at epoch" in t.user_attrs.get("reason", "")]
    assert pruned and summary["pruned"] >= len(pruned)
    for t in trials:
        if t.state.name == "COMPLETE":  # a finished trial trained to the end (patience 40 > 9): it passed both rungs
            run = json.loads((out / "trials" / f"{t.number:04d}" / "metrics.json").read_text())
            assert run["epochs_run"] == 9 and {"rung 1", "rung 3"} <= set(t.user_attrs)
    assert not list(out.glob("trials/.*.resume"))  # a stopped trial leaves no checkpoint behind
    again = runner.invoke(app, ["search", "--resume", str(out), "--trials", "2", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "summary.json").read_text())["trials"] >= summary["trials"] + 1
    assert json.loads((out / "search.json").read_text())["deadline"] is None  # the resumed run had no budget


def test_recommend_gives_the_command_that_trains_each_winner_again(tmp_path, teacher_run):
    import shlex

    out = tmp_path / "s"
    args = ["--teacher", teacher_run.path, "--families", "mlp,tree", "--max-epochs", 4, "--min-seconds", 0.02]
    r = runner.invoke(app, ["search", *map(str, args), "--trials", "4", "--out", str(out), "--explain"])
    assert r.exit_code == 0, r.output
    assert "the best student per family" in r.output
    shown = runner.invoke(app, ["recommend", str(out), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert {row["family"] for row in rows} <= {"mlp", "tree"} and sum(row["tried"] for row in rows) == 4
    winner = next(row for row in rows if row["best"])["best"]
    words = shlex.split(winner["command"])
    assert words[:2] == ["kdedge", "distill"]
    words[words.index("--out") + 1] = str(tmp_path / "again")
    again = runner.invoke(app, [*words[1:], "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["val_accuracy"] == winner["val_accuracy"]  # the same student, trained again
    assert runner.invoke(app, ["recommend", str(tmp_path / "none")]).exit_code == 2
