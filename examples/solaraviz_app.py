"""RegionModel in Mesa's own SolaraViz: `solara run examples/solaraviz_app.py`.

Two line charts drawn with Mesa's matplotlib backend (sent as images, so the page needs no CDN).
Reset rebuilds the model from `model_params`: `name` goes into the RegionScenario, the seed and
the lever (a `__` key path) into RegionModel's keywords.
"""

from mesa.visualization import SolaraViz, make_plot_component
from regionsim import RegionModel, RegionScenario

model_params = {
    "name": "classroom",
    "rng": {"type": "InputText", "value": 7, "label": "Random seed"},
    "rules__joint_control__enabled": {"type": "Checkbox", "value": True, "label": "Joint air-pollution control"},
}
air = make_plot_component("pm25_population_weighted", backend="matplotlib")
people = make_plot_component(["population_source_cities", "population_receiving_cities"], backend="matplotlib")
model = RegionModel(scenario=RegionScenario(name="classroom", rng=7))
page = SolaraViz(model, components=[air, people], model_params=model_params, name="regionsim: classroom")
page  # noqa: B018
