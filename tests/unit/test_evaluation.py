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
    row = next(r for r in threshold_sweep(labels, rankings) if r.threshold == 0.4 and r.ambiguity == 0.0)
    assert (row.accuracy, row.asked, row.resolved) == (0.5, 0.75, 0.75)
    assert (row.oos_precision, row.oos_recall) == (1 / 3, 1.0)  # three asked, one of them out of scope


def test_the_sweep_falls_back_as_rasa_does_on_a_narrow_margin_and_recommends_a_precise_setting():
    from evaluation.metrics import SweepRow, falls_back, recommended, threshold_sweep

    close = [("refund_status", 0.41), ("return_or_exchange", 0.40)]
    assert not falls_back(close, 0.25, 0.0) and falls_back(close, 0.25, 0.02) and falls_back(close, 0.45, 0.0)
    labels = ["refund_status", "out_of_scope"]
    rankings = [close, [("greet", 0.2), ("thank", 0.1)]]
    rows = {(r.threshold, r.ambiguity): r for r in threshold_sweep(labels, rankings)}
    assert rows[(0.25, 0.0)].accuracy == 1.0 and rows[(0.25, 0.0)].oos_precision == 1.0
    assert rows[(0.25, 0.02)].oos_precision == 0.5  # the narrow margin asks: an in-scope message counted out of scope
    assert rows[(0.25, 0.02)].resolved == 1.0  # but the label is among the buttons

    def row(t, accuracy, resolved, precision):
        return SweepRow(t, 0.0, accuracy, 0.1, resolved, precision, 0.9)

    candidates = [row(0.1, 0.90, 0.91, 0.75), row(0.2, 0.895, 0.93, 0.86), row(0.3, 0.87, 0.95, 0.88)]
    assert recommended(candidates).threshold == 0.2  # 0.3 resolves more but loses too much accuracy
    # of the precise enough (>= 0.84 on cross-validation), the one resolving the most ...
    assert recommended([row(0.2, 0.9, 0.908, 0.89), row(0.25, 0.9, 0.909, 0.85)]).threshold == 0.25
    # ... not one below the floor, however many it resolves
    assert recommended([row(0.2, 0.9, 0.908, 0.89), row(0.25, 0.9, 0.920, 0.83)]).threshold == 0.2
    # compared as shown (three decimals): 0.9076 and 0.9084 are both 0.908, the more precise wins
    assert recommended([row(0.2, 0.9, 0.9076, 0.89), row(0.25, 0.9, 0.9084, 0.85)]).threshold == 0.2
    assert recommended([row(0.1, 0.9, 0.9, 0.6), row(0.2, 0.9, 0.92, 0.7)]).threshold == 0.2  # none precise enough
    assert recommended([]) is None


def test_the_reliability_diagram_is_written_for_the_systems_with_a_confidence(tmp_path):
    from evaluation.metrics import reliability_png

    labels = ["track_parcel", "greet"]
    rankings = [[("track_parcel", 0.9)], [("thank", 0.5)]]
    ranked = score(MODEL_SYSTEM, "d", labels, ["track_parcel", "thank"], rankings=rankings)
    keywords = score("keyword rules", "d", labels, ["track_parcel", "out_of_scope"])
    assert not reliability_png([keywords], tmp_path / "none.png") and not (tmp_path / "none.png").exists()
    assert reliability_png([ranked, keywords], tmp_path / "reliability.png")
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_the_candidates_train_diet_on_config_yml_s_pipeline_up_to_diet_and_mix_as_the_component():
    import yaml

    from evaluation.candidates import diet_config, mixed

    pipeline = [c["name"] for c in yaml.safe_load(diet_config())["pipeline"]]
    configured = [c["name"] for c in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]]
    assert pipeline[-1] == "DIETClassifier" and pipeline == configured[:len(pipeline)]
    assert "components.char_ngram_classifier.CharNgramClassifier" not in pipeline
    got = mixed([[("a", 0.6), ("b", 0.4)]], [[("b", 1.0)]], 0.5)
    assert got == [[("b", 0.7), ("a", 0.3)]]
