"""MT systems behind one interface (see ``base.Translator``), registered by backend name."""

from evalkit.systems.base import BACKENDS, Segment, Translation, Translator, create_system

__all__ = ["BACKENDS", "Segment", "Translation", "Translator", "create_system"]
