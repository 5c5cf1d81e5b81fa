/* Employee voice: send feedback through POST /api/v1/feedback, follow it by receipt code. */
(function () {
  "use strict";
  const CF = window.CareFlow;
  const statuses = CF.jsonFrom("feedback-statuses");
  const form = document.getElementById("feedback-form");
  const send = document.getElementById("feedback-send");
  const lookupButton = document.getElementById("lookup-button");

  function showErrors(errors) {
    form.querySelectorAll(".field").forEach((f) => {
      f.classList.remove("invalid");
      f.querySelector(".field-error").textContent = "";
    });
    const general = form.querySelector(".form-errors");
    general.textContent = "";
    errors.forEach((error) => {
      const box = form.querySelector('.field[data-field="' + CSS.escape(error.field || "") + '"]');
      if (box) {
        box.classList.add("invalid");
        box.querySelector(".field-error").textContent = error.message;
      } else {
        general.textContent = error.message;
      }
    });
  }

  async function lookUp(code) {
    const result = await CF.api("GET", "/api/v1/feedback/" + encodeURIComponent(code));
    const message = document.getElementById("lookup-message");
    if (!result.ok) {
      document.getElementById("lookup-result").hidden = true;
      return CF.say(message, CF.errorText(result), "error");
    }
    message.textContent = "";
    message.className = "";
    const ticket = result.body;
    document.getElementById("lookup-status").textContent = CF.bi(statuses[ticket.status] || ticket.status);
    document.getElementById("lookup-outcome").textContent = ticket.outcome || "—";
    document.getElementById("lookup-reason").textContent = ticket.reason || "—";
    document.getElementById("lookup-plan").textContent = ticket.follow_up_plan || "—";
    document.getElementById("lookup-result").hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = document.getElementById("feedback-text").value.trim();
    if (!text) return showErrors([{ field: "text", message: gettext("This field is required.") }]);
    const body = { text, is_anonymous: document.getElementById("feedback-anonymous").checked };
    const category = document.getElementById("feedback-category").value;
    if (category) body.category = category;
    send.disabled = true;
    const result = await CF.api("POST", "/api/v1/feedback", body);
    send.disabled = false;
    if (!result.ok) return showErrors((result.body && result.body.errors) || [{ field: "", message: CF.errorText(result) }]);
    showErrors([]);
    form.reset();
    document.getElementById("receipt-code").textContent = result.body.receipt_code;
    document.getElementById("feedback-receipt").hidden = false;
    document.getElementById("lookup-code").value = result.body.receipt_code;
  });
  document.getElementById("lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = document.getElementById("lookup-code").value.trim();
    if (code) lookUp(code);
  });
  send.disabled = false;
  lookupButton.disabled = false;
})();
