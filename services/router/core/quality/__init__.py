"""Quality-aware routing: a difficulty predictor over the prompt, manifest priors and outcome evidence."""
