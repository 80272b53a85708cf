"""The code shows where the class lives: `model/` is the softmax and its data path, and uses
neither `classroom/` nor Streamlit, nor threads, processes, SQLite or the environment;
`classroom/` never uses Streamlit. Checked twice: by importing every module in a fresh
interpreter, and by reading every import and every `os.environ` in the source."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL = sorted((REPO / "model").glob("*.py"))
CLASSROOM = sorted((REPO / "classroom").glob("*.py"))
NOT_IN_MODEL = {"classroom", "streamlit", "threading", "multiprocessing", "subprocess", "sqlite3",
                "concurrent", "socket"}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _outside_main_guard(tree: ast.Module) -> list[ast.AST]:
    """Every node of the module but what runs only as `python -m` (the command line's wiring)."""
    def is_guard(node) -> bool:
        return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")
    return [n for top in tree.body if not is_guard(top) for n in ast.walk(top)]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in _outside_main_guard(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _reads_environment(path: Path) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv")
               for n in _outside_main_guard(ast.parse(path.read_text())))


@pytest.mark.parametrize("path", MODEL, ids=lambda p: p.name)
def test_a_model_module_imports_no_classroom_streamlit_threads_processes_or_sqlite(path):
    assert not _imports(path) & NOT_IN_MODEL


@pytest.mark.parametrize("path", MODEL, ids=lambda p: p.name)
def test_a_model_module_reads_no_environment_variable(path):
    assert not _reads_environment(path)


@pytest.mark.parametrize("path", CLASSROOM, ids=lambda p: p.name)
def test_a_classroom_module_imports_no_streamlit_and_reads_the_environment_only_in_paths(path):
    assert "streamlit" not in _imports(path) or path.name == "serve.py"   # serve starts Streamlit
    assert not _reads_environment(path) or path.name in ("paths.py", "serve.py")


def test_importing_all_of_model_loads_neither_classroom_nor_streamlit():
    modules = [_module(p) for p in MODEL]
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'classroom', 'streamlit'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_classroom_modules_are_the_ones_the_house_style_names():
    names = {p.stem for p in CLASSROOM}
    assert {"queue", "training_process", "prepared", "class_model", "instructor", "feedback", "runs",
            "sqlite", "paths"} <= names
    assert not {"jobs", "trainer", "training"} & names   # no near-synonyms
    assert not {"jobs", "trainer", "classroom", "feedback", "runs", "sqlite", "prepared"} & {p.stem for p in MODEL}
