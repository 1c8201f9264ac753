"""Interactive 3-D views of Isomap coordinates, as self-contained HTML.

One file per (dataset, model): a plotly scatter whose colour can be switched
between the synthesis parameters with buttons, and whose hover text gives
each sound's id and parameters. The plotly.js library is embedded, so the
file opens offline.
"""

import numpy as np
import plotly.graph_objects as go

from gear.errors import DataError
from gear.parameters import as_parameters

__all__ = ["isomap_view"]


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
