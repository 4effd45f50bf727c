/**
 * The console's only script, served by the worker (CSP script-src 'self'). Every form works
 * without it; it adds a copy button for secrets shown once, live JSON checking of metadata, and
 * a busy state for long actions.
 */
export const SCRIPT = `(() => {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
  for (const button of document.querySelectorAll("[data-copy]")) button.hidden = false;

  for (const area of document.querySelectorAll("textarea[data-json]")) {
    const message = document.getElementById(area.getAttribute("data-json"));
    const check = () => {
      let problem = "";
      try {
        const value = JSON.parse(area.value || "{}");
        if (value === null || typeof value !== "object" || Array.isArray(value)) problem = "Metadata must be a JSON object, like {\\"plan\\": \\"pro\\"}.";
      } catch (e) {
        problem = "Not valid JSON: " + e.message;
      }
      area.setAttribute("aria-invalid", problem ? "true" : "false");
      if (message) message.textContent = problem;
    };
    area.addEventListener("input", check);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const busy = form.getAttribute("data-busy");
    if (!busy) return;
    const button = event.submitter || form.querySelector("button[type=submit],button:not([type])");
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    const status = document.createElement("p");
    status.setAttribute("role", "status");
    status.textContent = busy;
    const bar = document.createElement("progress");
    bar.setAttribute("aria-label", busy);
    form.append(status, bar);
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });
})();`;
