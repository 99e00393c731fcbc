"""Sphinx configuration of the sksep documentation.

Build with ``docs/build.sh`` (warnings are errors). The build runs offline: no
intersphinx inventories are fetched, and only the cheap ``plot_*`` examples are
executed by sphinx-gallery (the other scripts are run by ``tests/test_docs.py``).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document the checkout, even without an editable install
os.environ.setdefault("MPLBACKEND", "Agg")

import sksep  # noqa: E402

project = "sksep"
author = "sksep developers"
copyright = "sksep developers, BSD-3-Clause"
release = sksep.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "dev/*", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
root_doc = "index"
default_role = "literal"  # `x` renders as code rather than guessing a cross-reference

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc Parameters section is the signature's doc
numpydoc_show_class_members = False  # our autosummary template lists the methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Nitpicky mode: every cross-reference must resolve, so a renamed or removed
# sksep name breaks the build. Names of other projects (numpy, torch, skorch,
# scikit-learn, librosa, ...) cannot resolve without intersphinx, which would
# need the network; they render as plain code and are ignored here by prefix.
nitpicky = True
_EXTERNAL = (
    "numpy", "np", "scipy", "torch", "skorch", "sklearn", "librosa", "pandas", "joblib",
    "gammatone", "pystoi", "pesq", "soundfile", "soxr", "numba", "noisereduce",
    "pyroomacoustics", "matplotlib", "pathlib", "pickle", "os", "typing", "collections",
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
    # bare names in docstrings inherited from torch and skorch
    (r"py:class", r"Module|Checkpoint"),
]

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    # Only the cheap plotting examples run during the build (a few seconds);
    # the training examples are shown as code and executed by tests/test_docs.py.
    "filename_pattern": r"/plot_",
    # compare_models.py regenerates analysis/ (minutes to hours); it is no gallery
    # page (its docstring has no reST title) and is described in cli.rst instead.
    "ignore_pattern": r"(__init__|conftest|_helpers|compare_models)\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sksep {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = []
html_show_sourcelink = False


# -- the command line reference is generated from the argparse parser ----------
def _cli_help_directive():
    """``.. sksep-cli-help::`` renders ``sksep --help`` and every subcommand's help.

    The reference therefore always shows the parser that is installed: a new
    option or subcommand appears without editing ``cli.rst``.
    """
    import argparse

    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class CLIHelp(SphinxDirective):
        has_content = False

        def run(self):
            os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
            from sksep.cli import build_parser

            parser = build_parser()
            parser.prog = "sksep"
            result = [nodes.literal_block(text=parser.format_help().rstrip(), language="text")]
            subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            for action in subparsers:
                for name, sub in action.choices.items():
                    section = nodes.section(ids=[f"sksep-{name}"], names=[f"sksep {name}"])
                    section += nodes.title(text=f"sksep {name}")
                    section += nodes.literal_block(text=sub.format_help().rstrip(),
                                                   language="text")
                    result.append(section)
            return result

    return CLIHelp


def setup(app):
    app.add_directive("sksep-cli-help", _cli_help_directive())
