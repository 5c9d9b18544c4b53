"""Character-level LSTM language model (the tutorial's second part)."""
