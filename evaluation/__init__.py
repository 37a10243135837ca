"""`make eval`: our NLU model against two baselines, on the same splits."""
