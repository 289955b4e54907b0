"""The project's reference model as a Python package: data pipeline, tokenizer, model, training, GGUF export,
perplexity. Run its modules from the repository root, e.g. `python3 -m model.train --steps 3200`,
`python3 -m model.perplexity --text model/heldout.txt`; requirements in model/requirements.txt; default paths in
model/paths.py (all relative to this folder); the model card is model/MODEL_CARD.md.
"""
