"""Learning-loop pages: staff (dataset, models, training runs) and photographers (eye picks, re-analysis, personal model)."""
