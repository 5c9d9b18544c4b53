"""Sentiment classification with Embedding + LSTM (the tutorial's third part)."""
