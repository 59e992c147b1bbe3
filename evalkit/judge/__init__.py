"""Divergence analysis: flags with evidence, reference suspicion and fault per paragraph."""

from evalkit.judge.core import Flag, Judgement, JudgeParams, assess, judge, params_as_dict

__all__ = ["Flag", "JudgeParams", "Judgement", "assess", "judge", "params_as_dict"]
