// A run's live progress over server-sent events: its state, its probes one by one and (on
// staff pages) its event log. Without JS the page refreshes itself (a <noscript> meta refresh).
"use strict";

const STATE_WORDS = {
  queued: (s) => `Waiting for a grader: ${s.queue_position} submission${s.queue_position === 1 ? "" : "s"} ahead of yours.`,
  running: () => "Being graded now.",
};
const STEP_WORDS = { "probe-start": ["running", "running…"], "probe-end": ["done", "done"] };

function stepFor(list, name) {
  let item = list.querySelector(`li[data-probe="${CSS.escape(name)}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.probe = name;
    const title = document.createElement("span");
    title.className = "step-title";
    title.textContent = name;
    const state = document.createElement("span");
    state.className = "step-state";
    item.append(title, " ", state);
    list.append(item);
  }
  return item;
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-events]");
  if (!panel || !window.EventSource) return;
  const stateLine = document.getElementById("run-state");
  const steps = document.getElementById("probe-steps");
  const log = document.getElementById("event-log");
  const source = new EventSource(panel.dataset.events);
  const initial = stateLine ? stateLine.dataset.state : "";

  source.addEventListener("state", (message) => {
    const state = JSON.parse(message.data);
    if (["done", "failed", "cancelled"].includes(state.state) && state.state !== initial) {
      source.close();
      window.location.reload();
      return;
    }
    const words = STATE_WORDS[state.state];
    if (stateLine && words) {
      stateLine.textContent = stateLine.dataset.staff ? `${state.state} ${state.phase || ""}` : words(state);
    }
  });
  for (const kind of ["probe-start", "probe-end"]) {
    source.addEventListener(kind, (message) => {
      const event = JSON.parse(message.data);
      if (!steps) return;
      const item = stepFor(steps, event.name);
      const [css, words] = STEP_WORDS[kind];
      item.className = `step-${css}`;
      item.querySelector(".step-state").textContent = words;
    });
  }
  if (log) {
    for (const kind of ["phase", "probe-start", "probe-end", "log"]) {
      source.addEventListener(kind, (message) => {
        const event = JSON.parse(message.data);
        const row = document.createElement("li");
        row.textContent = `${event.kind} ${event.name}${event.message ? ": " + event.message : ""}`;
        log.append(row);
      });
    }
  }
  source.addEventListener("end", () => source.close());
});
