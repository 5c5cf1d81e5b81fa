/* The modeler: open a deployed version's files, edit the diagram (bpmn-js) and the forms and
   decision tables (text, JSON checked in the page), deploy the bundle as a new version, and
   show the deploy validation's errors next to the elements they name. */
(function () {
  "use strict";
  const CF = window.CareFlow;
  const { el } = CF;

  CF.modelerPage = async function (options) {
    const status = document.getElementById("deploy-status");
    const errorList = document.getElementById("deploy-errors");
    const bpmnSelect = document.getElementById("bpmn-file");
    const formSelect = document.getElementById("form-file");
    const editor = document.getElementById("form-editor");
    const editorStatus = document.getElementById("form-editor-status");
    const deploy = document.getElementById("deploy-button");
    const files = {};
    let modeler = null;
    let shownBpmn = null;
    let shownText = null;

    document.querySelectorAll("[data-tab]").forEach((tab) => {
      tab.addEventListener("click", () => {
        document.querySelectorAll("[data-tab]").forEach((other) => {
          other.setAttribute("aria-selected", String(other === tab));
          document.getElementById(other.dataset.tab).hidden = other !== tab;
        });
      });
    });

    const versions = await CF.api("GET", "/api/v1/definitions/" + encodeURIComponent(options.process) + "/versions");
    if (!versions.ok) return CF.say(status, CF.errorText(versions), "error");
    const version = versions.body.find((v) => v.id === options.versionId);
    await Promise.all(version.files.map(async (name) => {
      const response = await fetch("/api/v1/versions/" + options.versionId + "/files/" + encodeURIComponent(name), { credentials: "same-origin" });
      files[name] = await response.text();
    }));
    const bpmnNames = version.files.filter((n) => n.endsWith(".bpmn"));
    const textNames = version.files.filter((n) => !n.endsWith(".bpmn"));
    bpmnNames.forEach((n) => bpmnSelect.append(el("option", { value: n, text: n, selected: n === options.mainFile })));
    textNames.forEach((n) => formSelect.append(el("option", { value: n, text: n })));

    // --- text files (forms: JSON; decision tables: DMN XML) ---
    function checkText() {
      if (!shownText) return true;
      if (!shownText.endsWith(".json")) {
        editorStatus.textContent = "";
        return true;
      }
      try {
        const parsed = JSON.parse(editor.value);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(gettext("a form is a JSON object"));
        editorStatus.className = "muted";
        editorStatus.textContent = gettext("Valid JSON. The schema itself is checked when you deploy.");
        return true;
      } catch (error) {
        editorStatus.className = "notice error";
        editorStatus.textContent = interpolate(gettext("%s is not valid JSON: %s"), [shownText, error.message]);
        return false;
      }
    }
    function showText(name) {
      if (shownText) files[shownText] = editor.value;
      shownText = name;
      const content = files[name] || "";
      editor.value = name.endsWith(".json") ? JSON.stringify(JSON.parse(content), null, 2) : content;
      checkText();
    }
    editor.addEventListener("input", checkText);
    formSelect.addEventListener("change", () => showText(formSelect.value));
    if (textNames.length) showText(textNames[0]);

    // --- diagram ---
    /* SpiffWorkflow models name process data, not BPMN elements, in references such as
       loopDataInputRef ("checklist"); bpmn-js would drop those unresolved references on save.
       Put them back as plain ids, so an edit keeps what it did not touch. */
    function keepUnresolvedReferences(warnings) {
      (warnings || []).forEach((warning) => {
        if (!warning.element || !warning.property || !/unresolved reference/.test(warning.message)) return;
        const descriptor = warning.element.$descriptor.propertiesByName[warning.property];
        const reference = { id: warning.value };
        if (descriptor && descriptor.isMany) warning.element.get(warning.property).push(reference);
        else warning.element.set(warning.property, reference);
      });
    }
    async function keepDiagram() {
      if (modeler && shownBpmn) files[shownBpmn] = (await modeler.saveXML({ format: true })).xml;
    }
    async function showDiagram(name) {
      await keepDiagram();
      shownBpmn = name;
      const { warnings } = await modeler.importXML(files[name]);
      keepUnresolvedReferences(warnings);
      modeler.get("canvas").zoom("fit-viewport", "auto");
      document.getElementById("canvas").dataset.ready = "true";
    }
    if (window.BpmnJS && document.getElementById("canvas")) {
      modeler = new window.BpmnJS({ container: "#canvas", keyboard: { bindTo: document } });
      await showDiagram(options.mainFile);
      bpmnSelect.addEventListener("change", () => showDiagram(bpmnSelect.value));
    }

    function showErrors(problems) {
      errorList.replaceChildren();
      errorList.hidden = problems.length === 0;
      if (!modeler) return;
      const overlays = modeler.get("overlays");
      const registry = modeler.get("elementRegistry");
      overlays.remove({ type: "deploy-error" });
      problems.forEach((problem) => {
        const onDiagram = problem.element && problem.file === shownBpmn && registry.get(problem.element);
        const text = [problem.file, problem.element].filter(Boolean).join(" · ") + ": " + problem.message;
        const item = el("li", { text, "data-element": problem.element || "" });
        if (onDiagram) {
          overlays.add(problem.element, "deploy-error", {
            position: { bottom: -6, left: 0 },
            html: el("div", { className: "deploy-error-overlay", text: problem.message }),
          });
          item.style.cursor = "pointer";
          item.addEventListener("click", () => {
            modeler.get("selection").select(registry.get(problem.element));
            modeler.get("canvas").scrollToElement(problem.element);
          });
        }
        errorList.append(item);
      });
    }

    deploy.disabled = false; // starts disabled: it works once the files are loaded
    deploy.addEventListener("click", async () => {
      if (shownText) files[shownText] = editor.value;
      if (!checkText()) return CF.say(status, gettext("Fix the file with invalid JSON first."), "error");
      await keepDiagram();
      const body = new FormData();
      Object.entries(files).forEach(([name, content]) => {
        const type = name.endsWith(".json") ? "application/json" : "application/xml";
        body.append("files", new Blob([content], { type }), name);
      });
      if (document.getElementById("request-approval").checked) body.append("request_approval", "true");
      deploy.disabled = true;
      CF.say(status, gettext("Deploying…"), "info");
      const result = await CF.api("POST", "/api/v1/deployments", body);
      deploy.disabled = false;
      if (result.status === 201 || result.status === 200 || result.status === 202) {
        showErrors([]);
        const number = result.body.version.number;
        const pending = result.body.version.approval_status === "pending";
        document.getElementById("version-badge").textContent = interpolate(gettext("version %s"), [number]);
        let text;
        if (pending) {
          text = interpolate(gettext("Deployed as version %s, waiting for approval by group HR: it changes high-impact operations or reserved messages. New instances start on the current version until then."), [number]);
        } else if (result.status === 201) {
          text = interpolate(gettext("Deployed as version %s. New instances start on it; running ones stay on theirs."), [number]);
        } else {
          text = interpolate(gettext("Nothing changed: this content is version %s."), [number]);
        }
        CF.say(status, text, pending ? "info" : "");
        if (pending && options.reviewsUrl) {
          status.append(" ", el("a", { href: options.reviewsUrl, text: gettext("See the diff"), id: "pending-diff-link" }));
        }
        const select = document.getElementById("version-select");
        if (![...select.options].some((o) => o.value === String(number))) {
          select.prepend(el("option", { value: String(number), text: String(number) }));
        }
        return;
      }
      CF.say(status, result.status === 400 ? gettext("The bundle was refused; see the errors below.") : CF.errorText(result), "error");
      showErrors((result.body && result.body.errors) || []);
    });
  };

  CF.onPage("modeler", (data) =>
    CF.modelerPage({
      process: data.process,
      versionId: Number(data.versionId),
      mainFile: data.mainFile,
      modelerUrl: data.modelerUrl,
      reviewsUrl: data.reviewsUrl,
    })
  );
})();
