/* The instance cockpit: the diagram with element states, operator actions, chain check. */
(function () {
  "use strict";
  const CF = window.CareFlow;

  async function showDiagram(container, diagram) {
    const viewer = new window.BpmnJS({ container });
    await viewer.importXML(diagram.xml);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport", "auto");
    Object.entries(diagram.states).forEach(([element, state]) => {
      if (registry.get(element)) canvas.addMarker(element, "el-" + state);
    });
    // The timeline knows user tasks by name; other elements (service tasks, timers, gateways)
    // get theirs from the diagram.
    document.querySelectorAll("#timeline li[data-element]").forEach((item) => {
      const label = item.querySelector(".element-name");
      const element = registry.get(item.dataset.element);
      const name = element && element.businessObject.name;
      if (label && name && label.textContent === item.dataset.element) label.textContent = CF.bi(name);
    });
    container.dataset.ready = "true";
    return viewer;
  }

  CF.cockpitPage = function (options) {
    const message = document.getElementById("cockpit-message");
    const base = "/api/v1/instances/" + options.instanceId;
    const container = document.getElementById("diagram");
    if (container && window.BpmnJS) {
      showDiagram(container, CF.jsonFrom("diagram-data")).catch((error) =>
        CF.say(message, interpolate(gettext("The diagram could not be shown: %s"), [error.message]), "error"));
    }
    // The buttons start disabled in the page and work once their handlers are here.
    document.querySelectorAll("[data-op]").forEach((button) => {
      button.disabled = false;
      button.addEventListener("click", async () => {
        const op = button.dataset.op;
        let reason = "";
        if (op === "terminate") {
          reason = window.prompt(gettext("Why terminate this process? The reason is kept in the history."), "");
          if (reason === null) return;
        }
        const result = await CF.api("POST", base + "/" + op, reason ? { reason } : {});
        if (!result.ok) return CF.say(message, CF.errorText(result), "error");
        window.location.reload();
      });
    });
    document.querySelectorAll("[data-retry]").forEach((button) => {
      button.disabled = false;
      button.addEventListener("click", async () => {
        const result = await CF.api("POST", "/api/v1/incidents/" + button.dataset.retry + "/retry");
        if (!result.ok) return CF.say(message, CF.errorText(result), "error");
        window.location.reload();
      });
    });
    const verify = document.getElementById("verify-button");
    if (verify) {
      verify.disabled = false;
      verify.addEventListener("click", async () => {
        const result = await CF.api("GET", base + "/history/verify");
        if (!result.ok) return CF.say(message, CF.errorText(result), "error");
        const check = result.body;
        if (check.is_valid) {
          CF.say(message, interpolate(gettext("History chain intact: %s events checked."), [check.events_checked]), "");
        } else {
          CF.say(message, interpolate(gettext("History chain broken at event %s: %s"), [check.first_bad_seq, check.reason]), "error");
        }
      });
    }
  };

  CF.onPage("cockpit", (data) => CF.cockpitPage({ instanceId: Number(data.instanceId) }));
})();
