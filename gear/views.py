"""Interactive 3-D views of Isomap coordinates, as self-contained HTML.

One file per (dataset, model): a plotly scatter whose colour can be switched
between the synthesis parameters with buttons, and whose hover text gives
each sound's id and parameters. The plotly.js library is embedded, so the
file opens offline.
"""

import numpy as np
import plotly.graph_objects as go

from gear.errors import DataError
from gear.io import atomic_path
from gear.parameters import as_parameters

__all__ = ["isomap_view", "share_plotlyjs", "write_view_bundle", "PLOTLY_FILE"]


def isomap_view(coordinates, params, parameters, title="", point_size=3):
    """Interactive 3-D scatter of Isomap coordinates.

    Parameters
    ----------
    coordinates : np.ndarray [shape=(n_sounds, 3)]
    params : pd.DataFrame [shape=(n_sounds, ...)]
        ``sound_id`` and the parameter columns, in coordinate row order.
    parameters : sequence of Parameter or str
        Parameters offered as colours, one button each; the first is shown
        first. Hover and colour bars show each one's name and unit.
    title : str
    point_size : float

    Returns
    -------
    html : str
        A complete, self-contained HTML document.
    """
    coordinates = np.asarray(coordinates)
    if coordinates.ndim != 2 or coordinates.shape[1] != 3 or coordinates.shape[0] != len(params):
        raise DataError(f"isomap view: expected coordinates of shape ({len(params)}, 3), got {coordinates.shape}")
    parameters = as_parameters(parameters)
    names = [parameter.name for parameter in parameters]
    titles = [f"{p.name} ({p.unit})" if p.unit else p.name for p in parameters]
    values = params[names].to_numpy(dtype=float)
    hover = "sound %{customdata[0]}<br>" + "<br>".join(
        f"{title} = %{{customdata[{index + 1}]:.4g}}" for index, title in enumerate(titles)
    )
    customdata = np.column_stack([params["sound_id"].astype(str).to_numpy(dtype=object), values])

    def marker(index):
        return {
            "size": point_size,
            "color": values[:, index],
            "colorscale": "RdBu_r",  # red-white-blue, as the paper's figures
            "colorbar": {"title": {"text": titles[index]}},
            "showscale": True,
        }

    figure = go.Figure(
        go.Scatter3d(
            x=coordinates[:, 0],
            y=coordinates[:, 1],
            z=coordinates[:, 2],
            mode="markers",
            marker=marker(0),
            customdata=customdata,
            hovertemplate=hover + "<extra></extra>",
        )
    )
    buttons = [
        {"label": f"colour: {name}", "method": "restyle", "args": [{"marker": [marker(index)]}]}
        for index, name in enumerate(names)
    ]
    figure.update_layout(
        title={"text": title, "x": 0.5},
        updatemenus=[
            {"type": "buttons", "buttons": buttons, "direction": "right", "x": 0, "y": 1.0, "xanchor": "left"}
        ],
        scene={"aspectmode": "data", "xaxis_title": "Isomap 1", "yaxis_title": "Isomap 2", "zaxis_title": "Isomap 3"},
        margin=dict(l=0, r=0, b=0, t=90),
    )
    return figure.to_html(include_plotlyjs=True, full_html=True, div_id="gear-isomap-view")


#: The shared copy of plotly.js in a bundle of views.
PLOTLY_FILE = "plotly.min.js"


def share_plotlyjs(html, src):
    """A view that loads plotly.js from ``src`` instead of embedding it.

    Parameters
    ----------
    html : str
        A view made by :func:`isomap_view`, plotly.js inline.
    src : str
        Relative URL of ``plotly.min.js``.

    Returns
    -------
    html : str
        The same page, about 4.8 MB lighter: the inline library is
        replaced by ``<script src=...>``, nothing else changes.

    Raises
    ------
    DataError
        If the page does not embed this plotly version's library exactly once.
    """
    from plotly.offline import get_plotlyjs

    inline = f"<script>{get_plotlyjs()}</script>"
    if html.count(inline) != 1:
        raise DataError("isomap view: plotly.js is not embedded once in the page (another plotly version?)")
    return html.replace(inline, f'<script charset="utf-8" src="{src}"></script>')


def write_view_bundle(views, directory, labels=None):
    """Every interactive view in one folder that ships plotly.js once (for the zip report).

    Parameters
    ----------
    views : sequence of str or Path
        Self-contained views ``.../{dataset}/{model}.html``.
    directory : str or Path
        Output: ``index.html`` (a link per dataset and model),
        ``plotly.min.js`` and ``{dataset}/{model}.html``, each view loading
        ``../plotly.min.js``. Opens offline, from disk or from the
        unpacked report.
    labels : dict or None
        Model id -> name shown in the index.
    """
    import html as html_escape
    from pathlib import Path

    from plotly.offline import get_plotlyjs

    directory = Path(directory)
    labels = labels or {}
    by_dataset = {}
    for view in map(Path, views):
        dataset, model = view.parent.name, view.stem
        with atomic_path(directory / dataset / f"{model}.html") as tmp:
            tmp.write_text(share_plotlyjs(view.read_text(), f"../{PLOTLY_FILE}"))
        by_dataset.setdefault(dataset, []).append(model)
    with atomic_path(directory / PLOTLY_FILE) as tmp:
        tmp.write_text(get_plotlyjs())
    sections = []
    for dataset, models in by_dataset.items():
        links = "\n".join(
            f'<li><a href="{dataset}/{model}.html">{html_escape.escape(labels.get(model, model))}</a></li>'
            for model in models
        )
        sections.append(f"<h2>{html_escape.escape(dataset)}</h2>\n<ul>\n{links}\n</ul>")
    index = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>GEAR: interactive 3-D views</title></head>\n'
        "<body>\n<h1>Interactive 3-D Isomap views</h1>\n"
        "<p>One page per dataset and model; all of them load the single copy of plotly.js in this folder.</p>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    with atomic_path(directory / "index.html") as tmp:
        tmp.write_text(index)
