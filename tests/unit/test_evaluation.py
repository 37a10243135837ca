"""make eval: folds trained like make train, failing sentences named, one held-out figure."""

from __future__ import annotations

from pathlib import Path

from bot.settings import PROJECT_ROOT
from evaluation.__main__ import accuracy_line, folds, write_fold_data
from evaluation.data import from_rasa_yaml
from evaluation.metrics import score
from evaluation.report import MODEL_SYSTEM, write_report
from rasa_adapter.project_files import NLU


def test_a_fold_is_trained_on_the_regexes_lookup_tables_synonyms_and_annotations(tmp_path):
    from rasa.shared.importers.importer import TrainingDataImporter

    train = from_rasa_yaml([PROJECT_ROOT / NLU])
    rest = [e for part in folds(train, 3)[1:] for e in part]
    data = write_fold_data(rest, tmp_path / "fold0")
    importer = TrainingDataImporter.load_from_dict(
        config_path=str(PROJECT_ROOT / "config.yml"), training_data_paths=[str(data)])
    nlu = importer.get_nlu_data()
    assert {r["name"] for r in nlu.regex_features} >= {"order_id", "tracking_number", "phone"}
    assert {t["name"] for t in nlu.lookup_tables} >= {"courier", "product"}
    assert nlu.entity_synonyms
    annotated = [m for m in nlu.intent_examples if m.get("entities")]
    assert annotated, "the examples keep their [3027461958302746518](order_id) annotations"
    assert len(nlu.intent_examples) == len({(e.intent, e.text) for e in rest})


def test_the_report_lists_every_failing_sentence_as_written_with_its_place(tmp_path):
    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: out_of_scope\n  examples: |\n    - 能開發票嗎\n'
                   "    - 讲个笑话\n", encoding="utf-8")
    examples = from_rasa_yaml([nlu])
    scores = score(MODEL_SYSTEM, "held-out test set", [e.intent for e in examples],
                   ["invoice_request", "out_of_scope"], examples)
    write_report([scores], tmp_path / "eval.md")
    report = (tmp_path / "eval.md").read_text(encoding="utf-8")
    assert f"- 「能開發票嗎」 out_of_scope → invoice_request ({nlu}:5)" in report
    assert "讲个笑话」" not in report
    assert accuracy_line(scores).startswith("NLU held-out accuracy: 0.500 on 2 messages")


def test_make_test_reports_the_held_out_figure_of_make_eval():
    """One figure: make test's NLU step is `python -m evaluation held-out`, which make eval
    computes with the same function (evaluation.__main__.held_out)."""
    steps = (PROJECT_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "-m evaluation held-out" in steps
    assert "rasa test nlu" not in steps
    main = Path(PROJECT_ROOT / "evaluation" / "__main__.py").read_text(encoding="utf-8")
    assert main.count("results.append(held_out(model))") == 1


def test_top3_resolved_and_calibration_follow_the_ranking_and_the_question():
    from evaluation.metrics import threshold_sweep

    labels = ["track_parcel", "refund_status", "out_of_scope", "complaint"]
    rankings = [
        [("track_parcel", 0.9), ("urge_shipment", 0.1)],  # right, sure
        [("track_parcel", 0.35), ("greet", 0.3), ("refund_status", 0.25)],  # asked: among the buttons
        [("greet", 0.3), ("thank", 0.2)],  # asked, out of scope: 「都不是，转人工」
        [("refund_status", 0.3), ("greet", 0.2), ("track_parcel", 0.2), ("urge_shipment", 0.1), ("complaint", 0.05)],
    ]
    predictions = ["track_parcel", "nlu_fallback", "nlu_fallback", "nlu_fallback"]
    s = score("m", "d", labels, predictions, rankings=rankings, asked=[False, True, True, True])
    assert s.accuracy == 0.5  # the two asked out_of_scope count as one right answer
    assert s.top3 == 0.5  # refund_status third; complaint fifth
    assert s.resolved == 0.75  # buttons skip greet: refund_status is offered, complaint (fourth topic) not
    assert s.asked == 0.75
    assert [row[2] for row in s.reliability] == [3, 1] and 0 < s.ece < 1
    t, accuracy, asked, resolved = next(row for row in threshold_sweep(labels, rankings) if row[0] == 0.4)
    assert (accuracy, asked, resolved) == (0.5, 0.75, 0.75)
