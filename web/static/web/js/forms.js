/* JSON-Schema forms for the subset the shipped forms/ use: string, number, integer, boolean,
   enums (enum, or oneOf of const + title), format date / date-time, arrays of strings, of
   enums and of objects, required, min / max, lengths, patterns, if / then / allOf, UI-schema
   hints (ui:order, ui:widget, ui:help, ui:placeholder, ui:options.rows), and file fields by
   the upload convention {"format": "uuid", "x-upload": {"accept": [...], "max_bytes": N}}.
   The page checks what the schema says before sending; the server checks again and its
   400 errors[].field messages are shown next to the same fields. */
(function () {
  "use strict";
  const CF = window.CareFlow;
  const { el } = CF;
  const UPLOAD_URL = "/api/v1/documents/";

  function choicesOf(schema) {
    if (Array.isArray(schema.oneOf) && schema.oneOf.length && schema.oneOf.every((o) => "const" in o)) {
      return schema.oneOf.map((o) => ({ value: o.const, title: o.title ?? String(o.const) }));
    }
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => ({ value: v, title: String(v) }));
    return null;
  }

  const typeOf = (schema) => (Array.isArray(schema.type) ? schema.type[0] : schema.type);
  const isEmpty = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

  // --- validation ------------------------------------------------------------------------

  function validDate(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    const d = new Date(text + "T00:00:00Z");
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
  }

  function matches(schema, value) {
    const errors = [];
    check(schema, value, "", errors);
    return errors.length === 0;
  }

  function check(schema, value, path, errors) {
    if (!schema || typeof schema !== "object") return;
    const at = (message) => errors.push({ field: path || "data", message });
    const type = typeOf(schema);
    if (type && value !== undefined) {
      const ok = {
        string: typeof value === "string",
        number: typeof value === "number" && Number.isFinite(value),
        integer: Number.isInteger(value),
        boolean: typeof value === "boolean",
        array: Array.isArray(value),
        object: value !== null && typeof value === "object" && !Array.isArray(value),
      }[type];
      if (ok === false) return at(gettext("This value has the wrong type."));
    }
    if ("const" in schema && value !== schema.const) at(interpolate(gettext("Must be %s."), [JSON.stringify(schema.const)]));
    const choices = choicesOf(schema);
    if (choices && value !== undefined && !choices.some((c) => c.value === value)) at(gettext("Choose one of the options."));
    if (typeof value === "string") {
      if (schema.minLength !== undefined && value.length < schema.minLength)
        at(schema.minLength === 1 ? gettext("This field is required.") : interpolate(gettext("At least %s characters."), [schema.minLength]));
      if (schema.maxLength !== undefined && value.length > schema.maxLength) at(interpolate(gettext("At most %s characters."), [schema.maxLength]));
      if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) at(gettext("This value does not have the expected form."));
      if (schema.format === "date" && !validDate(value)) at(gettext("Enter a date (YYYY-MM-DD)."));
    }
    if (typeof value === "number") {
      if (schema.minimum !== undefined && value < schema.minimum) at(interpolate(gettext("At least %s."), [schema.minimum]));
      if (schema.maximum !== undefined && value > schema.maximum) at(interpolate(gettext("At most %s."), [schema.maximum]));
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) at(interpolate(gettext("More than %s."), [schema.exclusiveMinimum]));
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) at(interpolate(gettext("Less than %s."), [schema.exclusiveMaximum]));
      if (schema.multipleOf !== undefined && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9)
        at(interpolate(gettext("Must be a multiple of %s."), [schema.multipleOf]));
    }
    if (Array.isArray(value)) {
      if (schema.minItems !== undefined && value.length < schema.minItems)
        at(schema.minItems === 1 ? gettext("Give at least one.") : interpolate(gettext("At least %s items."), [schema.minItems]));
      if (schema.maxItems !== undefined && value.length > schema.maxItems) at(interpolate(gettext("At most %s items."), [schema.maxItems]));
      if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) at(gettext("Each item only once."));
      if (schema.items) value.forEach((item, i) => check(schema.items, item, (path ? path + "/" : "") + i, errors));
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      (schema.required || []).forEach((name) => {
        if (value[name] === undefined) errors.push({ field: (path ? path + "/" : "") + name, message: gettext("This field is required.") });
      });
      Object.entries(schema.properties || {}).forEach(([name, sub]) => {
        if (value[name] !== undefined) check(sub, value[name], (path ? path + "/" : "") + name, errors);
      });
    }
    (schema.allOf || []).forEach((sub) => check(sub, value, path, errors));
    if (schema.if) {
      const branch = matches(schema.if, value) ? schema.then : schema.else;
      if (branch) check(branch, value, path, errors);
    }
  }

  /* Errors of `value` against `schema`, as [{field, message}], each field once per message. */
  CF.validate = function (schema, value) {
    const errors = [];
    check(schema, value, "", errors);
    const seen = new Set();
    return errors.filter((e) => {
      const key = e.field + "\u0000" + e.message;
      return seen.has(key) ? false : seen.add(key);
    });
  };

  // --- rendering ---------------------------------------------------------------------------

  function ordered(schema, ui) {
    const names = Object.keys(schema.properties || {});
    const order = (ui && ui["ui:order"]) || [];
    return [...order.filter((n) => names.includes(n)), ...names.filter((n) => !order.includes(n))];
  }

  function fieldBox(path, schema, ui, required, control, labelFor) {
    const title = CF.bi(schema.title || path.split("/").pop());
    const label = el(labelFor ? "label" : "div", { className: "title", for: labelFor }, [
      document.createTextNode(title),
      required ? el("span", { className: "required-mark", text: "*", "aria-hidden": "true" }) : null,
    ]);
    const help = [schema.description, ui["ui:help"]].filter(Boolean).map((text) => el("p", { className: "help", text: CF.bi(text) }));
    return el("div", { className: "field", "data-field": path }, [label, ...help, control, el("div", { className: "field-error", role: "alert" })]);
  }

  let uid = 0;
  const newId = (path) => "f" + ++uid + "-" + path.replace(/[^A-Za-z0-9_-]/g, "-");

  function choiceField(path, schema, ui, required, value, choices, multiple) {
    const useRadios = multiple || ui["ui:widget"] === "radio" || choices.length <= 4;
    if (!useRadios) {
      const id = newId(path);
      const select = el("select", { id, name: path, required }, [
        el("option", { value: "", text: gettext("Choose…") }),
        ...choices.map((c, i) => el("option", { value: String(i), text: CF.bi(c.title), selected: c.value === value })),
      ]);
      return {
        node: fieldBox(path, schema, ui, required, select, id),
        get: () => (select.value === "" ? undefined : choices[Number(select.value)].value),
      };
    }
    const inputs = choices.map((c, i) => {
      const id = newId(path + "-" + i);
      const checked = multiple ? Array.isArray(value) && value.includes(c.value) : c.value === value;
      const input = el("input", { type: multiple ? "checkbox" : "radio", id, name: path, value: String(i), checked });
      return { input, label: el("label", { className: "choice", for: id }, [input, document.createTextNode(" " + CF.bi(c.title))]) };
    });
    const group = el("fieldset", { role: multiple ? "group" : "radiogroup" }, inputs.map((x) => x.label));
    return {
      node: fieldBox(path, schema, ui, required, group),
      get: () => {
        const picked = inputs.filter((x) => x.input.checked).map((x) => choices[Number(x.input.value)].value);
        return multiple ? picked : picked.length ? picked[0] : undefined;
      },
    };
  }

  function uploadField(path, schema, ui, required, value) {
    const rule = schema["x-upload"] || {};
    const id = newId(path);
    const hidden = el("input", { type: "hidden", name: path, value: value || "" });
    const status = el("span", { className: "muted", text: value ? gettext("Document attached.") : "" });
    const input = el("input", { type: "file", id, accept: (rule.accept || []).join(",") || undefined });
    const box = fieldBox(path, schema, ui, required, el("div", {}, [input, hidden, document.createTextNode(" "), status]), id);
    const fail = (message) => {
      hidden.value = "";
      status.textContent = "";
      box.classList.add("invalid");
      box.querySelector(".field-error").textContent = message;
    };
    input.addEventListener("change", async () => {
      box.classList.remove("invalid");
      box.querySelector(".field-error").textContent = "";
      const file = input.files[0];
      if (!file) return fail(gettext("This field is required."));
      const accepted = rule.accept || [];
      const ext = "." + file.name.split(".").pop().toLowerCase();
      if (accepted.length && !accepted.some((a) => a.toLowerCase() === ext || a === file.type)) {
        return fail(interpolate(gettext("Allowed file types: %s."), [accepted.join(", ")]));
      }
      if (rule.max_bytes && file.size > rule.max_bytes) return fail(interpolate(gettext("The file is larger than %s bytes."), [rule.max_bytes]));
      const body = new FormData();
      body.append("file", file);
      status.textContent = gettext("Uploading…");
      const result = await CF.api("POST", UPLOAD_URL, body);
      if (!result.ok) return fail(CF.errorText(result));
      hidden.value = result.body.id;
      status.textContent = interpolate(gettext("Uploaded: %s"), [file.name]);
    });
    return { node: box, get: () => hidden.value || undefined };
  }

  function arrayOfObjectsField(path, schema, ui, required, value) {
    const list = el("div", {});
    const rows = [];
    const itemUi = ui.items || {};
    const addRow = (itemValue) => {
      const index = rows.length;
      const object = objectFields(schema.items, itemUi, path + "/" + index, itemValue || {});
      const remove = el("button", { type: "button", className: "btn secondary", text: gettext("Remove"), onclick: () => {
        const at = rows.indexOf(row);
        rows.splice(at, 1);
        row.node.remove();
      } });
      const row = { node: el("div", { className: "item" }, [object.node, remove]), get: object.get };
      rows.push(row);
      list.append(row.node);
    };
    (Array.isArray(value) && value.length ? value : [undefined]).forEach(addRow);
    const add = el("button", { type: "button", className: "btn secondary", text: gettext("Add another"), onclick: () => addRow() });
    return { node: fieldBox(path, schema, ui, required, el("div", {}, [list, add])), get: () => rows.map((r) => r.get()) };
  }

  function field(path, schema, ui, required, value) {
    ui = ui || {};
    const type = typeOf(schema);
    const choices = choicesOf(schema);
    if (type === "array") {
      const items = schema.items || {};
      const itemChoices = choicesOf(items);
      if (itemChoices) return choiceField(path, schema, ui, required, value, itemChoices, true);
      if (typeOf(items) === "object") return arrayOfObjectsField(path, schema, ui, required, value);
      // Free strings: one per line.
      const id = newId(path);
      const area = el("textarea", { id, name: path, rows: 3, placeholder: (ui.items || {})["ui:placeholder"] });
      area.value = Array.isArray(value) ? value.join("\n") : "";
      const help = el("p", { className: "help", text: gettext("One per line.") });
      return {
        node: fieldBox(path, schema, ui, required, el("div", {}, [area, help]), id),
        get: () => area.value.split("\n").map((s) => s.trim()).filter(Boolean),
      };
    }
    if (choices) return choiceField(path, schema, ui, required, value, choices, false);
    if (type === "boolean") {
      if (ui["ui:widget"] === "radio" || required) {
        return choiceField(path, schema, ui, required, value, [
          { value: true, title: gettext("Yes") },
          { value: false, title: gettext("No") },
        ], false);
      }
      const id = newId(path);
      const box = el("input", { type: "checkbox", id, name: path, checked: value === true });
      return { node: fieldBox(path, schema, ui, required, box, id), get: () => box.checked };
    }
    if (type === "object") return objectFields(schema, ui, path, value || {});
    if (type === "string" && schema["x-upload"]) return uploadField(path, schema, ui, required, value);
    const id = newId(path);
    let input;
    if (type === "number" || type === "integer") {
      const step = schema.multipleOf || (type === "integer" ? 1 : "any");
      input = el("input", { type: "number", id, name: path, step, min: schema.minimum, max: schema.maximum, required });
    } else if (ui["ui:widget"] === "textarea") {
      input = el("textarea", { id, name: path, rows: (ui["ui:options"] || {}).rows || 3, maxlength: schema.maxLength, required });
    } else {
      const kind = { date: "date", "date-time": "datetime-local" }[schema.format] || "text";
      input = el("input", { type: kind, id, name: path, maxlength: schema.maxLength, required, placeholder: ui["ui:placeholder"] });
    }
    if (value !== undefined && value !== null) {
      input.value = schema.format === "date-time" ? String(value).slice(0, 16) : String(value);
    }
    const get = () => {
      const raw = input.value.trim();
      if (raw === "") return undefined;
      if (type === "number" || type === "integer") return Number(raw);
      if (schema.format === "date-time") return new Date(raw).toISOString();
      return input.value;
    };
    return { node: fieldBox(path, schema, ui, required, input, id), get };
  }

  function objectFields(schema, ui, prefix, data) {
    ui = ui || {};
    const required = new Set(schema.required || []);
    const parts = ordered(schema, ui).map((name) => {
      const path = prefix ? prefix + "/" + name : name;
      return [name, field(path, schema.properties[name], ui[name], required.has(name), data[name])];
    });
    const node = el("div", { className: "fields" }, parts.map(([, part]) => part.node));
    const get = () => {
      const out = {};
      parts.forEach(([name, part]) => {
        const v = part.get();
        if (!isEmpty(v) || (Array.isArray(v) && required.has(name))) out[name] = v;
      });
      return out;
    };
    return { node, get };
  }

  /* Render `schema` into `container`; returns {collect, check, showErrors}. */
  CF.renderForm = function (container, schema, uiSchema, data) {
    schema = schema || { type: "object", properties: {} };
    const header = [];
    if (schema.title) header.push(el("h2", { text: CF.bi(schema.title) }));
    if (schema.description) header.push(el("p", { className: "help", text: CF.bi(schema.description) }));
    const root = objectFields(schema, uiSchema || {}, "", data || {});
    const general = el("div", { className: "form-errors", role: "alert" });
    container.append(...header, general, root.node);
    const form = {
      collect: root.get,
      check() {
        const errors = CF.validate(schema, root.get());
        form.showErrors(errors);
        return errors.length === 0;
      },
      showErrors(errors) {
        container.querySelectorAll(".field").forEach((f) => {
          f.classList.remove("invalid");
          const slot = f.querySelector(":scope > .field-error");
          if (slot) slot.textContent = "";
        });
        general.textContent = "";
        general.className = "form-errors";
        const unplaced = [];
        errors.forEach((error) => {
          const name = String(error.field || "").replace(/^data[.\/]/, "").replace(/\./g, "/");
          const box = container.querySelector('.field[data-field="' + CSS.escape(name) + '"]');
          if (box) {
            box.classList.add("invalid");
            const slot = box.querySelector(":scope > .field-error");
            slot.textContent = slot.textContent ? slot.textContent + " " + error.message : error.message;
          } else {
            unplaced.push((error.field ? error.field + ": " : "") + error.message);
          }
        });
        if (unplaced.length) {
          general.className = "form-errors notice error";
          general.textContent = unplaced.join("; ");
        }
        const first = container.querySelector(".field.invalid input, .field.invalid textarea, .field.invalid select");
        if (first) first.focus();
      },
    };
    return form;
  };

  // --- pages -----------------------------------------------------------------------------

  /* The values of process data the instructions talk about (e.g. "item"), so the person
     sees which course, claim or ticket the task is about. */
  function contextOf(data, documentation, schema) {
    const own = new Set(Object.keys((schema && schema.properties) || {}));
    return Object.entries(data || {}).filter(([key, value]) =>
      !own.has(key) && value !== null && value !== undefined && new RegExp("\\b" + key + "\\b").test(documentation));
  }

  function showValue(value) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return el("dl", { className: "facts" }, Object.entries(value).flatMap(([k, v]) => [
        el("dt", { text: k }),
        el("dd", { text: typeof v === "object" ? JSON.stringify(v) : CF.bi(String(v)) }),
      ]));
    }
    return el("span", { text: Array.isArray(value) ? value.join(", ") : CF.bi(String(value)) });
  }

  /* The delegate control offers only the people who could work the task (the server's list);
     the button works once one of them is chosen. */
  async function offerDelegates(taskId, select) {
    const button = document.querySelector("#task-actions [data-action='delegate']");
    const result = await CF.api("GET", "/api/v1/tasks/" + taskId + "/delegates");
    const people = result.ok ? result.body : [];
    select.replaceChildren();
    if (!people.length) {
      select.append(el("option", { value: "", text: gettext("No one else can take this task") }));
      return;
    }
    select.append(el("option", { value: "", text: gettext("Choose a colleague…") }));
    people.forEach((person) => {
      const label = person.name ? person.name + " (" + person.username + ")" : person.username;
      select.append(el("option", { value: person.username, text: label }));
    });
    select.disabled = false;
    select.addEventListener("change", () => (button.disabled = !select.value));
  }

  CF.taskPage = function (options) {
    const payload = CF.jsonFrom("task-form-data");
    const message = document.getElementById("action-message");
    const context = document.getElementById("task-context");
    contextOf(payload.data, options.documentation, payload.schema).forEach(([key, value]) => {
      context.append(el("h3", { text: key }), showValue(value));
    });
    const delegateTo = document.getElementById("delegate-to");
    if (delegateTo) offerDelegates(options.taskId, delegateTo);
    document.querySelectorAll("#task-actions [data-action]").forEach((button) => {
      if (button.dataset.action !== "delegate") button.disabled = false;
      button.addEventListener("click", async () => {
        const action = button.dataset.action;
        const body = action === "delegate" ? { to_user: delegateTo.value } : undefined;
        button.disabled = true;
        const result = await CF.api("POST", "/api/v1/tasks/" + options.taskId + "/" + action, body);
        button.disabled = false;
        if (!result.ok) return CF.say(message, CF.errorText(result), "error");
        if (action === "delegate") {
          CF.say(message, interpolate(gettext("Delegated to %s."), [result.body.assignee]), "");
          setTimeout(() => (window.location.href = "/tasks/"), 800);
        } else {
          window.location.reload();
        }
      });
    });
    if (!options.isOpen) return;
    const formNode = document.getElementById("task-form");
    const form = CF.renderForm(formNode, payload.schema, payload.ui_schema, payload.data);
    // The button works once the form is drawn (it starts disabled in the page).
    document.getElementById("complete-button").disabled = false;
    formNode.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.check()) return;
      const button = document.getElementById("complete-button");
      button.disabled = true;
      const result = await CF.api("POST", "/api/v1/tasks/" + options.taskId + "/complete", { data: form.collect() });
      button.disabled = false;
      if (result.ok) {
        window.location.href = options.doneUrl;
      } else if (result.status === 400) {
        form.showErrors(result.body.errors || [{ field: "", message: CF.errorText(result) }]);
      } else {
        CF.say(message, CF.errorText(result), "error");
        window.scrollTo(0, 0);
      }
    });
  };

  CF.startPage = function (options) {
    const payload = CF.jsonFrom("start-form-data");
    const formNode = document.getElementById("start-form");
    const subject = document.getElementById("subject");
    const form = CF.renderForm(document.getElementById("start-fields"), payload.schema, payload.ui_schema, {});
    document.getElementById("start-button").disabled = false;
    formNode.addEventListener("submit", async (event) => {
      event.preventDefault();
      const subjectBox = subject && subject.closest(".field");
      let ok = form.check();
      if (subjectBox) {
        subjectBox.classList.toggle("invalid", !subject.value);
        subjectBox.querySelector(".field-error").textContent = subject.value ? "" : gettext("This field is required.");
        ok = ok && !!subject.value;
      }
      if (!ok) return;
      const body = { process: options.process, data: form.collect() };
      if (subject) body.subject = subject.value;
      const button = document.getElementById("start-button");
      button.disabled = true;
      const result = await CF.api("POST", "/api/v1/instances/start", body);
      button.disabled = false;
      if (result.ok) {
        window.location.href = options.cockpitUrl.replace("/0/", "/" + result.body.id + "/");
        return;
      }
      const errors = (result.body && result.body.errors) || [{ field: "", message: CF.errorText(result) }];
      form.showErrors(errors.map((e) => ({ ...e, field: String(e.field || "").replace(/^data[.\/]?/, "") || e.field })));
    });
  };

  CF.onPage("task", (data) =>
    CF.taskPage({
      taskId: Number(data.taskId),
      isOpen: data.isOpen === "true",
      documentation: document.getElementById("task-instructions")?.textContent || "",
      doneUrl: data.doneUrl,
    })
  );
  CF.onPage("start", (data) => CF.startPage({ process: data.process, cockpitUrl: data.cockpitUrl }));
})();
