// The TFDP panel's keep-ratio slider, a component for the panel's Python
// code (operators/panel.py). The App's own slider reaches the panel 250 ms
// after each release, and twice: the App debounces every change of a panel
// input. This one triggers the panel's event once, when the slider is
// released. Plain JavaScript on the App's globals: no build step.
(function () {
  "use strict";

  var React = window.React;
  var plugins = window.__fop__;
  var operators = window.__foo__;
  var mui = window.__mui__;
  var h = React.createElement;

  function percent(value) {
    return Math.round(value * 100) + " %";
  }

  function RatioSlider(props) {
    var view = (props.schema && props.schema.view) || {};
    var min = view.min, max = view.max, step = view.step;
    var stored = typeof props.data === "number" ? props.data : min;
    var triggerEvent = operators.useTriggerPanelEvent();
    // the thumb follows the mouse; the stored value follows the server
    var state = React.useState(stored);
    var value = state[0], setValue = state[1];
    React.useEffect(function () { setValue(stored); }, [stored]);
    var labelId = "tfdp-" + props.path + "-label";

    return h(mui.Box, { sx: { py: 1 } },
      h(mui.Typography, { id: labelId, sx: { mb: 4 } }, view.label),
      h(mui.Box, { sx: { px: 1.5 } }, h(mui.Slider, {
        value: value,
        min: min,
        max: max,
        step: step,
        valueLabelDisplay: "on",
        valueLabelFormat: percent,
        getAriaValueText: percent,
        "aria-labelledby": labelId,
        onChange: function (event, next) { setValue(next); },
        onChangeCommitted: function (event, next) {
          triggerEvent(view.on_commit, { value: next });
        },
      })));
  }

  plugins.registerComponent({
    name: "TfdpRatioSlider",
    label: "TFDP keep-ratio slider",
    component: RatioSlider,
    type: plugins.PluginComponentType.Component,
    activator: function () { return true; },
  });
})();
