"""Build hook: every wheel carries compiled translations.

The .mo files are not in git (they are build output), so build_py compiles each packaged
locale/*/LC_MESSAGES/*.po into its .mo beside it in the build tree, with polib, the same library
that `birtutas compile_translations` uses. Everything else about the package is in pyproject.toml.
"""

from pathlib import Path

import polib
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithTranslations(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree, where `make translations` compiles
        for po_path in sorted(Path(self.build_lib).glob("birtutas/locale/*/LC_MESSAGES/*.po")):
            polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))


setup(cmdclass={"build_py": BuildPyWithTranslations})
