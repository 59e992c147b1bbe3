"""Fixing the archive: from a run's flagged paragraphs to corrected archive files.

Three steps (README, "Fixing the archive"; DESIGN.md, "Worklist record"):

* ``evalkit run`` finds the weak paragraphs (``paragraphs.jsonl``);
* ``evalkit worklist RUN_DIR`` turns each flagged one into a work item with a proposed repair
  and a ``decision`` for a person to take (``worklist.py``: pure functions over the run's
  records; ``runfiles.py``: reading the run folder and finding the archive files it ingested);
* ``evalkit apply WORKLIST --out DIR`` writes corrected copies of the archive files, one diff
  per file and a summary, changing only the English lines of the accepted paragraphs
  (``apply.py``).

``items.py`` holds the record types both steps share and their JSONL / CSV forms;
``dateline.py`` renders a Chinese news-agency dateline in the archive's English style.
"""
