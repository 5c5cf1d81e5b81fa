/* Employee voice: send feedback through POST /api/v1/feedback, follow it by receipt code
   (POST /api/v1/feedback/receipt, the code in the body), and answer the handler's question
   (POST /api/v1/feedback/reply, the code in the body). */
(function () {
  "use strict";
  const CF = window.CareFlow;
  const statuses = CF.jsonFrom("feedback-statuses");
  const form = document.getElementById("feedback-form");
  const send = document.getElementById("feedback-send");
  const lookupButton = document.getElementById("lookup-button");
  const replyForm = document.getElementById("reply-form");
  const replySend = document.getElementById("reply-send");
  let shownCode = "";

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

  /* The receipt code goes in the body of a POST, never in a URL (URLs end up in logs). */
  async function lookUp(code) {
    const result = await CF.api("POST", "/api/v1/feedback/receipt", { receipt_code: code });
    const message = document.getElementById("lookup-message");
    if (!result.ok) {
      document.getElementById("lookup-result").hidden = true;
      hideQuestion();
      let text = CF.errorText(result);
      if (result.status === 404) text = gettext("No feedback has this receipt code. Check it and try again.");
      if (result.status === 429) text = gettext("Too many look-ups from this network. Please wait a minute and try again.");
      return CF.say(message, text, "error");
    }
    message.textContent = "";
    message.className = "";
    const ticket = result.body;
    document.getElementById("lookup-status").textContent = CF.bi(statuses[ticket.status] || ticket.status);
    document.getElementById("lookup-outcome").textContent = ticket.outcome || "—";
    document.getElementById("lookup-reason").textContent = ticket.reason || "—";
    document.getElementById("lookup-plan").textContent = ticket.follow_up_plan || "—";
    document.getElementById("lookup-result").hidden = false;
    const closed = ticket.status === "resolved" || ticket.status === "not_resolved";
    if (closed && !ticket.outcome && !ticket.reason && !ticket.follow_up_plan) {
      CF.say(message, gettext("The handler's answer cannot be shown here."), "");
    }
    shownCode = code;
    document.getElementById("question-text").textContent = ticket.question || "";
    document.getElementById("question-box").hidden = !ticket.question;
  }

  function hideQuestion() {
    shownCode = "";
    document.getElementById("question-box").hidden = true;
  }

  /* The answer goes with the code in the body of a POST, like the lookup. */
  replyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = replyForm.querySelector(".field");
    const error = box.querySelector(".field-error");
    const text = document.getElementById("reply-text").value.trim();
    box.classList.remove("invalid");
    error.textContent = "";
    if (!text) {
      box.classList.add("invalid");
      error.textContent = gettext("This field is required.");
      return;
    }
    replySend.disabled = true;
    const result = await CF.api("POST", "/api/v1/feedback/reply", { receipt_code: shownCode, text });
    replySend.disabled = false;
    const message = document.getElementById("lookup-message");
    if (!result.ok) {
      let said = CF.errorText(result);
      if (result.status === 409) said = gettext("This question no longer waits for an answer.");
      if (result.status === 429) said = gettext("Too many look-ups from this network. Please wait a minute and try again.");
      if (result.status === 409) hideQuestion();
      return CF.say(message, said, "error");
    }
    replyForm.reset();
    hideQuestion();
    CF.say(message, gettext("Thank you: your answer was sent."), "ok");
  });

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
