"""Where long-lived text lives: file store, memory stream, vector index, embedders, memory bank."""
