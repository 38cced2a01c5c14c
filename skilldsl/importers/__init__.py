"""Importers: other projects' skill formats turned into ``.skill`` files.

``skillrm``: a Skill-RM package (``SKILL.md``, ``resources.yaml``, rubrics, references, scripts)
-> a ``.skill`` plus the files it reads (:func:`skilldsl.importers.skillrm.import_package`).
"""
