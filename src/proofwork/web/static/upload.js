// The candidate's upload with a progress bar. Without JS the form posts as a plain form.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const percent = document.getElementById("upload-percent");
  const error = document.getElementById("upload-error");
  const button = form.querySelector("button[type=submit]");

  const problemIn = (html) => {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const found = doc.querySelector("#upload-problem, .problem, .error .lead");
    return found ? found.textContent.trim() : "The upload failed; reload the page and try again.";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      const done = Math.round((progress.loaded / progress.total) * 100);
      bar.value = done;
      bar.textContent = `${done}%`;
      percent.textContent = done < 100 ? `${done}%` : "Checking your files…";
    });
    request.addEventListener("load", () => {
      if (request.status < 400 && request.responseURL.endsWith("/status")) {
        window.location.assign(request.responseURL);
        return;
      }
      box.hidden = true;
      button.disabled = false;
      error.textContent = problemIn(request.responseText);
      error.hidden = false;
      error.focus();
    });
    request.addEventListener("error", () => {
      box.hidden = true;
      button.disabled = false;
      error.textContent = "The connection broke during the upload; try again.";
      error.hidden = false;
    });
    error.hidden = true;
    box.hidden = false;
    button.disabled = true;
    request.send(new FormData(form));
  });
});
