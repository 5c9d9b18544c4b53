"""Markov chains over characters or words, counted with numpy (the tutorial's first part)."""
