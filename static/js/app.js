// Small enhancements on top of pages that already work without JavaScript.
"use strict";

// After htmx swaps a part of the page in, move keyboard focus to its heading so that
// keyboard and screen-reader users land on what changed rather than on a detached link.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (!target || !target.isConnected) return;
  const heading = target.querySelector("[data-focus-after-swap]");
  if (heading) heading.focus({ preventScroll: false });
});

// Copy buttons are hidden until this script runs, since copying needs script.
// navigator.clipboard exists only on HTTPS and localhost; internal hosts served over plain
// HTTP fall back to selecting the code and the older copy command.
async function copyText(source) {
  // Each line is its own block element, so the text is rebuilt line by line.
  const lines = source.querySelectorAll(".line");
  const text = lines.length ? Array.from(lines, (line) => line.textContent).join("\n") : source.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(source);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  if (!document.execCommand("copy")) throw new Error("copy refused");
}

// One listener for every copy button, present or to come: a page that htmx restores from
// its history snapshot, or the browser from its back-forward cache, has buttons no
// per-button listener was ever attached to.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await copyText(source);
    button.textContent = "Copied";
  } catch (error) {
    button.textContent = "Copy failed";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 1600);
});

// Shown once script runs, and always reading "Copy" when a page comes back: a snapshot
// taken in the moment after a copy would otherwise keep saying "Copied".
function showCopyButtons(root) {
  root.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    button.hidden = false;
    button.textContent = "Copy";
  });
}

document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
document.addEventListener("htmx:load", (event) => showCopyButtons(event.detail.elt));
document.addEventListener("htmx:historyRestore", () => showCopyButtons(document));
window.addEventListener("pageshow", (event) => { if (event.persisted) showCopyButtons(document); });

// A run page's socket asks the server for the events after the last one the page shows
// (`?after=N`). The ws extension reconnects with the address it first used; rewriting
// `after` on every (re)connect means a dropped socket resumes without a gap or a repeat.
if (window.htmx && htmx.createWebSocket) {
  const createWebSocket = htmx.createWebSocket;
  htmx.createWebSocket = (url) => {
    const progress = document.querySelector("[data-run-seq]");
    if (progress) url = url.replace(/([?&]after=)\d+/, `$1${progress.dataset.runSeq}`);
    return createWebSocket(url);
  };
}
