"""Which losses fit a port, the loss rows' option controls, and the generated NetTrain code."""
import numpy as np
import pytest

from lossviz import NetTrain, Scaled, losses
from lossviz.errors import ParameterError, SpecError
from lossviz.train import Automatic
from lossviz.widgets import LossChoice, PortSetting, automatic_loss, fitting_losses, loss_function, nettrain_code
from lossviz.widgets.rows import SCALES, LossRow, OptionControls, option_specs

pytest.importorskip("ipywidgets")


# ---------------------------------------------------------------------------- fit
def test_classifier_menu_lists_the_losses_that_train(classifier, disc):
    choices = fitting_losses(classifier, disc, "Output")
    names = {c.name for c in choices}
    assert {"cross_entropy", "multiclass_hinge", "categorical_focal"} <= names
    # losses of pairs, triplets and sequences cannot read a softmax output and class indices
    assert not names & {"contrastive", "triplet", "cosine_embedding", "margin_ranking", "ctc"}
    for choice in choices:
        loss = NetTrain(classifier, disc, "RoundLoss", loss_function=choice.layer(), max_training_rounds=1,
                        random_seed=0, progress=None)
        assert np.isfinite(loss), choice


def test_regression_menu_lists_regression_losses(regressor, regression_data):
    names = [c.name for c in fitting_losses(regressor, regression_data, "Output")]
    assert {"mse", "mae", "huber", "log_cosh"} <= set(names)
    assert "cross_entropy" not in names and "multiclass_hinge" not in names
    assert len(names) == len(set((c.label for c in fitting_losses(regressor, regression_data, "Output"))))


def test_every_listed_loss_trains(regressor, regression_data):
    for choice in fitting_losses(regressor, regression_data, "Output"):
        loss = NetTrain(regressor, regression_data, "RoundLoss", loss_function=choice.layer(), max_training_rounds=1,
                        random_seed=0, progress=None)
        assert np.isfinite(loss), choice


def test_automatic_label_says_what_it_resolves_to(classifier, disc, regressor, regression_data):
    assert automatic_loss(classifier, disc, "Output") == "Automatic: CrossEntropyLossLayer('Index')"
    assert automatic_loss(regressor, regression_data, "Output").startswith("Automatic: MeanSquaredLossLayer")


def test_unknown_port_is_a_clear_error(classifier, disc):
    with pytest.raises(ValueError, match="no output port 'Out'.*'Output'"):
        fitting_losses(classifier, disc, "Out")


# ---------------------------------------------------------------------------- option controls
def test_option_controls_come_from_the_registry_specs():
    import ipywidgets as widgets

    specs = option_specs("huber")
    rho = next(s for s in specs if s.name == "rho")
    controls = OptionControls(specs)
    w = controls.controls["rho"]
    assert isinstance(w, widgets.FloatLogSlider) == bool(rho.log)
    assert w.value == rho.default and controls.values() == {}
    w.value = 2.0
    assert controls.values() == {"rho": pytest.approx(2.0)}


def test_every_registry_option_gets_a_control_of_its_kind():
    import ipywidgets as widgets

    kinds = {"bool": widgets.Checkbox, "choice": widgets.Dropdown}
    seen = set()
    for entry in losses.catalogue():
        specs = option_specs(entry.name)
        controls = OptionControls(specs)
        assert controls.values() == {}, entry.name  # every control starts at the default
        for spec in specs:
            if spec.name not in controls.controls:
                assert spec.callable_ok, (entry.name, spec.name)
                continue
            seen.add(spec.kind)
            if spec.kind in kinds:
                assert isinstance(controls.controls[spec.name], kinds[spec.kind]), (entry.name, spec)
    assert {"float", "choice"} <= seen


def test_array_option_text_is_parsed_and_bad_text_is_named():
    arrays = [(e.name, s) for e in losses.catalogue() for s in option_specs(e.name) if s.kind == "array"]
    if not arrays:
        pytest.skip("no array option in the registry")
    name, spec = arrays[0]
    controls = OptionControls([spec])
    controls.controls[spec.name].value = "1, 2.5"
    assert controls.values() == {spec.name: [1.0, 2.5]}
    controls.controls[spec.name].value = "1, x"
    with pytest.raises(ParameterError, match=spec.name):
        controls.values()


def test_loss_row_reads_menu_scale_and_options(regressor, regression_data):
    choices = fitting_losses(regressor, regression_data, "Output")
    changes = []
    row = LossRow("Output", choices, "Automatic: MSE", on_change=changes.append)
    assert row.setting() == PortSetting("Output")
    huber = next(c for c in choices if c.name == "huber")
    row.menu.value = huber
    row.options.controls["rho"].value = 0.5
    row.scale.value = 0.2
    s = row.setting()
    assert (s.choice, s.options, s.scale) == (huber, {"rho": pytest.approx(0.5)}, 0.2)
    assert len(changes) == 3
    assert SCALES[0] == 0 and SCALES[-1] == 100 and list(SCALES) == sorted(SCALES)


# ---------------------------------------------------------------------------- loss_function and code
def test_loss_function_forms():
    huber = LossChoice("huber", "huber")
    assert loss_function([PortSetting("Output")]) == {"Output": Automatic}
    spec = loss_function([PortSetting("Output", huber, {"rho": 2.0}, 0.5)])
    layer, scale = spec["Output"]
    assert isinstance(layer, losses.HuberLossLayer) and layer.rho == 2.0 and scale == Scaled(0.5)
    assert loss_function([PortSetting("Loss", scale=3.0, is_loss_port=True)]) == {"Loss": Scaled(3.0)}
    with pytest.raises(SpecError, match="every loss row is off"):
        loss_function([PortSetting("Output", "off")])


def test_generated_code_runs_and_reproduces_the_net(regressor, regression_data):
    settings = [PortSetting("Output", LossChoice("huber", "huber"), {"rho": 0.3}, 2.0)]
    options = {"batch_size": 16, "method": "ADAM", "learning_rate": 0.01, "random_seed": 3,
               "max_training_rounds": 3, "progress": None}
    code = nettrain_code(settings, options)
    assert "losses.get('huber', rho=0.3)" in code and "Scaled(2.0)" in code
    namespace = {"net": regressor, "data": regression_data}
    exec(code, namespace)
    direct = NetTrain(regressor, regression_data, loss_function=(losses.get("huber", rho=0.3), Scaled(2.0)),
                      **options)
    x = regression_data[0][:20]
    np.testing.assert_allclose(namespace["trained"](x), direct(x), rtol=1e-6, atol=1e-9)
