"""No interface text is written outside the translation machinery.

`test_translations.py` checks that every marked string has its French and
Dutch translation; this checks that what people read is marked at all:
text in the templates outside `{% translate %}` / `{% blocktranslate %}`, and
literal labels, messages and errors in the code behind the admin and the
services. API schema descriptions (read by developers) are left out.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Keyword arguments whose value a person reads in the back-office.
LABEL_KEYWORDS = {"description", "label", "help_text", "verbose_name", "verbose_name_plural",
                  "empty_label", "title", "summary", "consequence"}
# Class attributes (of an app config, an admin site, a list filter) that a person reads.
ASSIGNED_LABELS = {"verbose_name", "verbose_name_plural", "site_header", "site_title",
                   "index_title", "title", "empty_value_display"}
# Calls whose text argument (at that position) a person reads.
MESSAGE_CALLS = {"message_user": 1, "success": 1, "error": 1, "warning": 1, "info": 1,
                 "ServiceError": 1, "ValidationError": 0}
WORD = re.compile(r"[A-Za-z]{3,}")
# What a template shows that is no text: tags, variables, comments, scripts, styles.
NOT_TEXT = [re.compile(pattern, re.S) for pattern in (
    r"\{%\s*blocktranslate.*?\{%\s*endblocktranslate\s*%\}", r"\{%\s*comment\s*%\}.*?"
    r"\{%\s*endcomment\s*%\}", r"<script.*?</script>", r"<style.*?</style>", r"\{#.*?#\}",
    r"\{%.*?%\}", r"\{\{.*?\}\}")]
READ_ATTRIBUTES = re.compile(r'(?:title|aria-label|placeholder|alt)="([^"]*)"')


def _literal_text(node: ast.AST) -> str:
    """The letters a literal (or the fixed parts of an f-string) puts on screen."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(part.value for part in node.values
                        if isinstance(part, ast.Constant) and isinstance(part.value, str))
    return ""


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _interface_modules() -> list[Path]:
    modules = []
    for path in sorted((ROOT / "apps").rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "migrations" in parts or "simulator" in parts or "api" in parts:
            continue
        if path.name.startswith(("admin", "services", "forms", "preferences", "dashboard",
                                 "digest", "validators", "apps")):
            modules.append(path)
    return modules


def _unmarked_in_module(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and WORD.search(_literal_text(node.value)):
            names = {getattr(target, "id", None) for target in node.targets}
            if names & ASSIGNED_LABELS:
                found.append(f"{_shown(path)}:{node.lineno} {names.pop()} = "
                             f"{_literal_text(node.value)!r}")
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in LABEL_KEYWORDS and WORD.search(_literal_text(keyword.value)):
                found.append(f"{_shown(path)}:{keyword.value.lineno} "
                             f"{keyword.arg}={_literal_text(keyword.value)!r}")
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", "")
        position = MESSAGE_CALLS.get(name)
        if position is not None and len(node.args) > position:
            text = _literal_text(node.args[position])
            if WORD.search(text):
                found.append(f"{_shown(path)}:{node.lineno} {name}({text!r})")
    return found


def _unmarked_in_template(path: Path) -> list[str]:
    text = path.read_text()
    for pattern in NOT_TEXT:
        text = pattern.sub(" ", text)
    shown = [value for value in READ_ATTRIBUTES.findall(text) if WORD.search(value)]
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    shown += WORD.findall(text)
    return [f"{_shown(path)}: {value!r}" for value in shown]


def test_the_code_behind_the_interface_marks_what_people_read():
    unmarked = [line for path in _interface_modules() for line in _unmarked_in_module(path)]

    assert not unmarked, "Wrap these in gettext / gettext_lazy:\n" + "\n".join(unmarked)


def test_the_templates_mark_what_people_read():
    templates = sorted((ROOT / "templates").rglob("*.html")) + sorted(
        (ROOT / "templates").rglob("*.txt")) + sorted((ROOT / "apps").rglob("templates/**/*.html"))

    unmarked = [line for path in templates for line in _unmarked_in_template(path)]

    assert not unmarked, "Use {% translate %} / {% blocktranslate %}:\n" + "\n".join(unmarked)


def test_the_checks_find_unmarked_text(tmp_path):
    module = tmp_path / "admin.py"
    module.write_text('admin.display(description="Last error")\n'
                      'self.message_user(request, f"{obj}: sent to the ONSS")\n'
                      'admin.display(description=_("Marked"))\n'
                      'verbose_name = "Integration core"\n')
    template = tmp_path / "page.html"
    template.write_text('<p>Hello there</p><p>{% translate "Marked" %}</p>'
                        '<span title="A tip">{{ value }}</span>')

    assert len(_unmarked_in_module(module)) == 3
    assert [line.split(": ", 1)[1] for line in _unmarked_in_template(template)] == [
        "'A tip'", "'Hello'", "'there'"]
