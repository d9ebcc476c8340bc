// The pages' shared behaviour. Loaded by base.html; no inline script anywhere (strict CSP).
"use strict";

// htmx sends the page's CSRF token with every request it makes (hx-headers is inherited).
document.addEventListener("DOMContentLoaded", () => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) {
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": meta.content }));
  }
});

// "Copy" buttons: data-copy names the input whose value goes to the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  source.select();
  try {
    await navigator.clipboard.writeText(source.value);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Selected: press Ctrl+C";
  }
});
