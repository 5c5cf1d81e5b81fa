/* CareFlow pages: shared helpers (REST API calls with the session and CSRF token, bilingual
   titles, messages). Page modules (forms.js, cockpit.js, modeler.js, dashboards.js) build on it. */
(function () {
  "use strict";
  const CF = (window.CareFlow = window.CareFlow || {});
  // gettext() and interpolate() come from Django's JavaScript catalog (/jsi18n/).

  CF.csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  /* One call to /api/v1/: resolves to {status, ok, body}; never throws on an HTTP error. */
  CF.api = async function (method, url, body) {
    const headers = { "X-CSRFToken": CF.csrfToken(), Accept: "application/json" };
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    return { status: response.status, ok: response.ok, body: data };
  };

  /* The words of an API error answer, for a message line. */
  CF.errorText = function (result) {
    const body = result.body || {};
    if (result.status === 403) return gettext("You may not do this.") + (body.detail ? " (" + body.detail + ")" : "");
    if (result.status === 409) return gettext("This is no longer possible: someone else was quicker or the state changed.") + (body.detail ? " (" + body.detail + ")" : "");
    if (Array.isArray(body.errors) && body.errors.length) {
      return body.errors.map((e) => (e.field ? e.field + ": " : "") + e.message).join("; ");
    }
    return body.detail || interpolate(gettext("The server answered %s."), [result.status]);
  };

  CF.say = function (element, text, kind) {
    if (!element) return;
    element.className = "notice " + (kind || "");
    element.textContent = text;
  };

  /* Bilingual titles are written "English 中文": show the part for the page's language. */
  const CJK = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;
  CF.bi = function (text) {
    if (typeof text !== "string") return text;
    const isChinese = document.documentElement.lang.startsWith("zh");
    const halves = text.split(" / ");
    if (halves.length === 2 && CJK.test(halves[0][0] || "") && /^[A-Za-z]/.test(halves[1])) {
      return isChinese ? halves[0].trim() : halves[1].trim();
    }
    const match = CJK.exec(text);
    if (!match || match.index === 0) return text;
    let english = text.slice(0, match.index).trim();
    let chinese = text.slice(match.index).trim();
    if (english.endsWith("(") && chinese.endsWith(")")) {
      english = english.slice(0, -1).trim();
      chinese = chinese.slice(0, -1).trim();
    }
    english = english.replace(/\/\s*$/, "").trim();
    if (!english || /[A-Za-z]/.test(chinese)) return text;
    return isChinese ? chinese : english;
  };

  CF.el = function (tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  };

  CF.jsonFrom = (id) => JSON.parse(document.getElementById(id).textContent);

  /* Pages carry no inline script (the production Content-Security-Policy runs scripts from
     files only): a page names itself and its options in data- attributes of
     <main data-page="task" data-task-id="7" ...>, and its module starts it with
     CF.onPage("task", (data) => ...), where `data` is that element's dataset. */
  CF.onPage = function (name, start) {
    const main = document.querySelector("main[data-page]");
    if (main && main.dataset.page === name) start(main.dataset);
  };

  /* <select data-autosubmit>: choosing an option submits its form (instead of onchange=). */
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
})();
