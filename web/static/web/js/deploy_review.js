/* Deploy approvals (four-eyes deploy): group HR approve or reject a deploy waiting for them,
   with an optional comment, through the REST API; the page then shows the new state. */
(function () {
  "use strict";
  const CF = window.CareFlow;

  document.querySelectorAll("[data-review]").forEach((button) => {
    button.addEventListener("click", async () => {
      const section = button.closest(".deploy-review");
      const status = section.querySelector(".review-status");
      const comment = section.querySelector(".review-comment").value;
      const action = button.dataset.review;
      section.querySelectorAll("[data-review]").forEach((b) => { b.disabled = true; });
      const result = await CF.api("POST", "/api/v1/deployments/" + button.dataset.versionId + "/" + action, { comment });
      if (result.ok) {
        CF.say(status, action === "approve" ? gettext("Approved: this version is now current.") : gettext("Rejected: this version will not run."), "");
        window.location.reload();
        return;
      }
      section.querySelectorAll("[data-review]").forEach((b) => { b.disabled = false; });
      CF.say(status, CF.errorText(result), "error");
    });
  });
})();
