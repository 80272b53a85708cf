"""The 'CNN filters' teaching tab: the CNN's first layer, its 3x3 filters as pictures on the
shared blue-white-red scale, and where each of them lights up in the drawing on the canvas.

It shows the model in use if that is a CNN, else the shipped CNN. The numbers come from
`model.forward` (NumPy); this module only lays them out.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import ImageOps

from model import forward, insight, store
from model.recognizer import Recognizer
from ui.i18n import t
from ui.models import shipped_model

FILTER_WIDTH = 48      # px: a 3x3 filter, each weight a 16 px square
MAP_WIDTH = 78         # px: a 26x26 response map, 3 px a pixel; four fit across a phone
FRAME = (190, 190, 190)  # a grey line round each picture: a filter that barely weighs anything, or
                         # a map with no response, is then a visible white square, not a gap


def the_cnn(recognizer: Recognizer) -> Recognizer | None:
    """The CNN this tab shows, having said which; None (and why) when there is none."""
    if recognizer.architecture == "cnn":
        st.caption(t("filters.in_use"))
        return recognizer
    try:
        cnn = shipped_model("cnn")
    except store.ModelFileError as e:
        missing = not store.SHIPPED_FILES["cnn"].is_file()
        st.info(t("filters.no_cnn") if missing else t("filters.unreadable", detail=str(e)))
        return None
    st.caption(t("filters.shipped"))
    return cnn


def filter_pictures(cnn: Recognizer) -> list:
    """conv1's filters as pictures, all on one scale: the strongest weight is full red or blue."""
    kernels = np.moveaxis(cnn.weights["conv1.kernel"][:, :, 0, :], -1, 0)     # (F, 3, 3)
    limit = float(np.abs(kernels).max()) or 1.0
    return [framed(insight.diverging(k, limit, size=FILTER_WIDTH)) for k in kernels]


def response_pictures(cnn: Recognizer, input28: np.ndarray) -> list:
    """Each filter's ReLU response to the drawing, on one scale for all (white: nothing, red: the
    strongest response of any filter), so that the filters can be compared."""
    maps = forward.first_layer_maps(cnn.weights, input28)                      # (F, 26, 26), >= 0
    limit = float(maps.max()) or 1.0
    return [framed(insight.diverging(m, limit, size=MAP_WIDTH)) for m in maps]


def framed(picture):
    return ImageOps.expand(picture, border=1, fill=FRAME)


def filters_ui(recognizer: Recognizer, image) -> None:
    cnn = the_cnn(recognizer)
    if cnn is None:
        return
    pictures = filter_pictures(cnn)
    numbers = [str(i + 1) for i in range(len(pictures))]
    st.markdown(t("filters.what", count=len(pictures)))
    st.image(pictures, caption=numbers, width=FILTER_WIDTH)
    st.image(insight.legend(1.0, width=200), caption=t("filters.legend"))
    prediction = cnn.predict(image) if image is not None else None
    if prediction is None or prediction.input is None:
        st.info(t("filters.draw"))
        return
    st.markdown(t("filters.responses"))
    st.image(response_pictures(cnn, prediction.input), caption=numbers, width=MAP_WIDTH)
