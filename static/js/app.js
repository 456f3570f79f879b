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

// Enter on a link marked data-focus-arrival (the home page's framework cards) loads a new
// page, where focus would start on <body> and a keyboard user would tab through the whole
// header again. The link is remembered for the one page it leads to, which then focuses its
// first meaningful heading; a mouse click leaves focus where the browser puts it.
const ARRIVAL_KEY = "focusArrival";

document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.target instanceof Element)) return;
  const link = event.target.closest("a[data-focus-arrival]");
  if (!link) return;
  try {
    sessionStorage.setItem(ARRIVAL_KEY, link.href);
  } catch (error) {
    // Storage refused: the next page starts at the top, as without script.
  }
});

(function focusArrivalHeading() {
  let expected = null;
  try {
    expected = sessionStorage.getItem(ARRIVAL_KEY);
    sessionStorage.removeItem(ARRIVAL_KEY);
  } catch (error) {
    return;
  }
  if (expected !== window.location.href) return;
  const heading = document.querySelector("main [data-arrival-heading]") || document.querySelector("main h1");
  if (!heading) return;
  if (!heading.hasAttribute("tabindex")) heading.tabIndex = -1;
  heading.focus();
})();

// Copy buttons are hidden until this script runs, since copying needs script. A button
// carries its text (data-copy-text: a whole file as it is on disk, which neither code view
// shows as one block) or names the element that holds it (data-copy).
// navigator.clipboard exists only on HTTPS and localhost; internal hosts served over plain
// HTTP fall back to a hidden text area and the older copy command.
function textToCopy(button) {
  if (button.dataset.copyText !== undefined) return button.dataset.copyText;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return null;
  // Each line is its own block element, so the text is rebuilt line by line.
  const lines = source.querySelectorAll(".line");
  return lines.length ? Array.from(lines, (line) => line.textContent).join("\n") : source.textContent;
}

async function copyText(text, button) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  button.focus();  // selecting the text area took focus from the button
  if (!copied) throw new Error("copy refused");
}

// One listener for every copy button, present or to come: a page that htmx restores from
// its history snapshot, or the browser from its back-forward cache, has buttons no
// per-button listener was ever attached to.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy[data-copy], button.copy[data-copy-text]");
  if (!button) return;
  const text = textToCopy(button);
  if (text === null) return;
  try {
    await copyText(text, button);
    button.textContent = "Copied";
  } catch (error) {
    button.textContent = "Copy failed";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 1600);
});

// Shown once script runs, and always reading "Copy" when a page comes back: a snapshot
// taken in the moment after a copy would otherwise keep saying "Copied".
function showCopyButtons(root) {
  root.querySelectorAll("button.copy").forEach((button) => {
    button.hidden = false;
    button.textContent = "Copy";
  });
}

document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
document.addEventListener("htmx:load", (event) => showCopyButtons(event.detail.elt));
document.addEventListener("htmx:historyRestore", () => showCopyButtons(document));
window.addEventListener("pageshow", (event) => { if (event.persisted) showCopyButtons(document); });

// Broken and fixed code shows side by side or in one column. The stylesheet picks by screen
// width until the reader chooses; the choice then holds for every page in this browser, so
// it sits on <html> (which htmx swaps never replace) and in localStorage.
const DIFF_VIEW_KEY = "diffView";
const narrowScreen = window.matchMedia("(max-width: 760px)");

try {
  const view = localStorage.getItem(DIFF_VIEW_KEY);
  if (view === "split" || view === "unified") document.documentElement.dataset.diffView = view;
} catch (error) {
  // Storage refused (privacy settings): the width decides.
}

function showDiffView(root) {
  const shown = document.documentElement.dataset.diffView || (narrowScreen.matches ? "unified" : "split");
  root.querySelectorAll(".diff-views").forEach((group) => { group.hidden = false; });
  root.querySelectorAll("button[data-diff-view]").forEach((button) => {
    button.setAttribute("aria-pressed", String(button.dataset.diffView === shown));
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-diff-view]");
  if (!button) return;
  document.documentElement.dataset.diffView = button.dataset.diffView;
  try {
    localStorage.setItem(DIFF_VIEW_KEY, button.dataset.diffView);
  } catch (error) {
    // Not remembered, but still shown on this page.
  }
  showDiffView(document);
});

showDiffView(document);
narrowScreen.addEventListener("change", () => showDiffView(document));
document.addEventListener("htmx:load", (event) => showDiffView(event.detail.elt));
document.addEventListener("htmx:historyRestore", () => showDiffView(document));
window.addEventListener("pageshow", (event) => { if (event.persisted) showDiffView(document); });

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
