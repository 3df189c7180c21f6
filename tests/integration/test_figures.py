"""Report figures in a fresh interpreter (integration tier): importing the report must not register
the CJK font; the figure tests themselves live in tests/unit/test_figures.py."""

import subprocess
import sys

from stylecluster.report import fonts


def test_font_is_registered_at_figure_time_not_import_time():
    code = ("import stylecluster.report.build, stylecluster.report.figures, matplotlib.font_manager as fm; "
            "print(any('WenQuanYi' in f.name for f in fm.fontManager.ttflist))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "importing the report registered the font"
    assert fonts.cjk_font_path().is_file()
