"""The installed environment keeps the lessons' fixed costs low."""

import subprocess
import sys


def test_glue_does_not_import_the_slow_iri_validator():
    """``myst_nb.glue`` imports nbformat, hence jsonschema's format checkers. jsonschema 4.25+
    adds ``rfc3987_syntax``, whose import compiles about 40 Lark grammars (3 s in each lesson's
    kernel on a 2-core CPU), so requirements.txt pins ``jsonschema<4.25``. This fails if the
    pin is lost or another package brings the slow import back (seen failing with jsonschema
    4.26.0 installed)."""
    code = "import sys; from myst_nb import glue; import nbformat; print('rfc3987_syntax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
