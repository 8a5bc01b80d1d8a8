// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Anonymous registration: contacts and fiscal code are never stored, so hide them.
  const anon = document.getElementById("f-anonymous");
  if (anon) {
    const toggle = () => document.querySelectorAll("[data-identity-only]").forEach((el) => { el.hidden = anon.checked; });
    anon.addEventListener("change", toggle);
    toggle();
  }
  // Historical import: show how much of the file has been sent; then the server checks it.
  const bar = document.getElementById("import-bar");
  if (bar) {
    document.body.addEventListener("htmx:xhr:progress", (e) => {
      if (e.detail.lengthComputable) {
        bar.value = Math.round((e.detail.loaded / e.detail.total) * 100);
        if (bar.value >= 100) bar.removeAttribute("value");
      }
    });
  }
  // After an htmx swap (the import result), the new error summary gets the focus too.
  document.body.addEventListener("htmx:afterSwap", (e) => {
    const s = e.detail.target.querySelector(".error-summary[tabindex]");
    if (s) s.focus();
  });
  // Print buttons (the page also prints from the browser's menu without this).
  document.querySelectorAll("[data-print]").forEach((b) => {
    b.hidden = false;
    b.addEventListener("click", () => window.print());
  });
  // Move focus to the error summary so keyboard and screen-reader users hear what went wrong.
  const summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
});
