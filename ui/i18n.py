"""The page in the class's language: every string a person reads comes from one catalog per
language (`ui/locales/en.toml`, `ui/locales/ko.toml`), looked up with `t("area.name", **values)`.

The language is, in order: `?lang=ko` / `?lang=en` in the address, the one chosen on the
page (kept in the session), the browser's (`st.context.locale`), English. Catalogs are read
once per server. A key missing from a catalog falls back to English, then to the key itself,
so a page never fails on a string (the tests keep both catalogs complete).
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import streamlit as st

LANGUAGES = {"ko": "한국어", "en": "English"}
DEFAULT = "en"
FOLDER = Path(__file__).parent / "locales"


@lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, str]:
    """The catalog of `language`, flattened: {"sidebar.title": "..."}."""
    with open(FOLDER / f"{language}.toml", "rb") as f:
        return dict(_flatten(tomllib.load(f)))


def _flatten(table: dict, prefix: str = ""):
    for name, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def from_locale(locale: str | None) -> str:
    """'ko-KR' -> 'ko'; a language without a catalog -> English."""
    code = (locale or "").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else DEFAULT


def language() -> str:
    """This session's language (see the module's docstring for the order)."""
    asked = st.query_params.get("lang")
    if asked in LANGUAGES:
        st.session_state.language = asked
    elif "language" not in st.session_state:
        try:
            locale = st.context.locale
        except Exception:  # no browser behind this run (bare mode)
            locale = None
        st.session_state.language = from_locale(locale)
    return st.session_state.language


def t(key: str, lang: str | None = None, **values) -> str:
    """The string `key` in the session's language (or `lang`), with `values` filled in."""
    lang = lang or st.session_state.get("language") or DEFAULT
    text = catalog(lang).get(key) or catalog(DEFAULT).get(key) or key
    return text.format(**values) if values else text


def words(key: str, **values):
    """`format_func` for a widget's options: option -> t(key with the option put in, values). The
    language is taken now, not when Streamlit (or a test) calls it."""
    lang = st.session_state.get("language") or DEFAULT
    return lambda option: t(key.format(option=str(option).replace(" ", "_")), lang, **values, option=option)


def switch_language() -> None:
    """The choice on the page goes into the address too, so a reload or a shared link keeps it."""
    st.query_params["lang"] = st.session_state.language


def language_ui() -> None:
    """The language switch (in the sidebar, at the top)."""
    st.radio(t("page.language"), list(LANGUAGES), format_func=LANGUAGES.get, key="language", horizontal=True,
             on_change=switch_language, label_visibility="collapsed")


def say(note, lang: str | None = None) -> str:
    """A `classroom.job.Note` (what the queue or the training has to say) in the session's
    language (or `lang`)."""
    values = dict(note.values)
    if note.key == "queue.over_budget":
        values["fits"] = _what_fits(values, lang)
    return t(note.key, lang, **values)


def _what_fits(values: dict, lang: str | None) -> str:
    options = []
    if values["fewer_epochs"] >= 1:
        options.append(t("queue.fits_epochs", lang, epochs=values["fewer_epochs"], batch_size=values["batch_size"]))
    if values["larger_batch"] is not None:
        options.append(t("queue.fits_batch", lang, epochs=values["epochs"], batch_size=values["larger_batch"]))
    if values.get("fewer_filters") is not None:   # a CNN: its filters, not its batch size, set its time
        options.append(t("queue.fits_filters", lang, epochs=values["epochs"], filters=values["fewer_filters"]))
    if not options:
        return t("queue.fits_nothing", lang)
    return t("queue.fits", lang, options=t("queue.or", lang).join(options))


def settings_text(config, lang: str | None = None) -> str:
    """A training's settings in a few words: '5 epochs, batch 100, sgd 0.01' ('1 epoch') for the
    lesson's softmax; the next lesson's models say which they are first: 'CNN with 32 filters,
    3 epochs, batch 128, adam 0.001'; in the session's language (or `lang`)."""
    epochs = t("teach.set_epochs_one" if config.epochs == 1 else "teach.set_epochs", lang, value=config.epochs)
    settings = t("model.settings", lang, epochs=epochs, batch_size=config.batch_size, optimizer=config.optimizer,
                 learning_rate=f"{config.learning_rate:g}")
    if config.architecture == "softmax":  # the lesson's model goes without saying, as it always has
        return settings
    model = t(f"model.architecture.{config.architecture}", lang, hidden_units=config.hidden_units,
              filters=config.filters)
    return t("model.architecture.with", lang, model=model, settings=settings)
