/* Group HR dashboards: one chart per metric from /api/v1/metrics/, figures in a table below. */
(function () {
  "use strict";
  const CF = window.CareFlow;
  const { el } = CF;
  const charts = {};
  const percent = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
  const hours = (s) => (s === null || s === undefined ? null : Math.round((s / 3600) * 10) / 10);

  // What each metric shows: the query it needs, the bars, and the table columns.
  const METRICS = {
    turnover: {
      query: ["from", "to", "group_by"],
      label: (r) => CF.bi(r.label),
      bars: [[gettext("Turnover rate %"), (r) => percent(r.turnover_rate)]],
      columns: ["average_headcount", "leavers", "turnover_rate"],
    },
    training: {
      query: ["from", "to", "group_by"],
      label: (r) => CF.bi(r.label),
      bars: [[gettext("Participation %"), (r) => percent(r.participation_rate)]],
      columns: ["employees", "participants", "participation_rate"],
    },
    "open-tasks": {
      query: [],
      label: (r) => CF.bi(r.process_label) + " · " + CF.bi(r.org_unit_label),
      bars: [[gettext("Open tasks"), (r) => r.open], [gettext("Overdue tasks"), (r) => r.overdue]],
      columns: ["open", "overdue"],
    },
    feedback: {
      query: ["from", "to"],
      label: (r) => CF.bi(r.label),
      bars: [[gettext("Participation %"), (r) => percent(r.participation_rate)], [gettext("Closed unresolved %"), (r) => percent(r.unresolved_share)]],
      columns: ["employees", "submitters", "submitted", "closed", "closed_unresolved", "average_closure_hours"],
    },
    "cycle-time": {
      query: ["from", "to"],
      label: (r) => CF.bi(r.label),
      bars: [[gettext("Average (h)"), (r) => hours(r.average_seconds)], [gettext("90th percentile (h)"), (r) => hours(r.p90_seconds)]],
      columns: ["completed", "average_seconds", "p90_seconds"],
    },
  };
  const COLOURS = ["#0b6e75", "#c0392b", "#3366cc", "#c77700"];

  function table(rows, metric) {
    return el("table", { className: "list" }, [
      el("thead", {}, [el("tr", {}, [el("th", { text: "" }), ...metric.columns.map((c) => el("th", { text: c }))])]),
      el("tbody", {}, rows.map((r) => el("tr", {}, [
        el("td", { text: metric.label(r) }),
        ...metric.columns.map((c) => el("td", { text: r[c] === null || r[c] === undefined ? "—" : String(r[c]) })),
      ]))),
    ]);
  }

  async function load(section, params) {
    const name = section.dataset.metric;
    const metric = METRICS[name];
    const query = new URLSearchParams();
    metric.query.forEach((key) => params.get(key) && query.set(key, params.get(key)));
    const result = await CF.api("GET", "/api/v1/metrics/" + name + "/?" + query.toString());
    const figures = section.querySelector(".figures");
    if (!result.ok) {
      figures.replaceChildren(el("p", { className: "notice error", text: CF.errorText(result) }));
      section.querySelector("details").open = true;
      section.dataset.ready = "error";
      return;
    }
    const rows = result.body.rows || [];
    figures.replaceChildren(table(rows, metric));
    if (window.Chart) {
      if (charts[name]) charts[name].destroy();
      charts[name] = new window.Chart(section.querySelector("canvas"), {
        type: "bar",
        data: {
          labels: rows.map(metric.label),
          datasets: metric.bars.map(([label, value], i) => ({ label, data: rows.map(value), backgroundColor: COLOURS[i] })),
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
      });
    } else {
      section.querySelector(".chart-box").hidden = true;
      section.querySelector("details").open = true;
    }
    section.dataset.ready = "true";
  }

  CF.dashboardsPage = function () {
    const form = document.getElementById("period");
    const today = new Date();
    const yearAgo = new Date(today.getTime() - 365 * 86400000);
    form.elements.from.value = yearAgo.toISOString().slice(0, 10);
    form.elements.to.value = today.toISOString().slice(0, 10);
    const show = () => {
      const params = new FormData(form);
      document.querySelectorAll("[data-metric]").forEach((section) => load(section, params));
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      show();
    });
    show();
  };

  CF.onPage("dashboards", () => CF.dashboardsPage());
})();
