// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Anonymous registration: contacts and fiscal code are never stored, so hide them.
  const anon = document.getElementById("f-anonymous");
  if (anon) {
    const toggle = () => document.querySelectorAll("[data-identity-only]").forEach((el) => { el.hidden = anon.checked; });
    anon.addEventListener("change", toggle);
    toggle();
  }
  // Move focus to the error summary so keyboard and screen-reader users hear what went wrong.
  const summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
});
