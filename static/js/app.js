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

function enableCopyButtons(root) {
  root.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    button.hidden = false;
    if (button.dataset.ready) return;
    button.dataset.ready = "1";
    button.addEventListener("click", async () => {
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
  });
}

document.addEventListener("DOMContentLoaded", () => enableCopyButtons(document));
document.addEventListener("htmx:load", (event) => enableCopyButtons(event.detail.elt));

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
