"""Preparation stages: markup or source audio into mastered, verified files."""
