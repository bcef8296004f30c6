"""The public API of each package is exactly what its ``__all__`` says."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["pipeline", "pipeline.store", "pipeline.markup", "pipeline.engines", "sender", "sender.providers"])
def test_all_names_exist_once(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert [n for n in names if not hasattr(module, n)] == []
    assert len(set(names)) == len(names)


def test_stages_are_importable_from_the_top() -> None:
    import pipeline

    for stage in ("parse", "synthesize", "load_audio", "master", "encode", "verify", "prepare", "prepare_many"):
        assert callable(getattr(pipeline, stage)), stage
