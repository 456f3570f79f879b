// For a page that frames the streaming troubleshooter's /embed/ pages (a docs portal):
// include it once, from the troubleshooter's own address,
//   <script src="https://troubleshooter.example.com/static/embed/host.js" defer></script>
// and every iframe on the page that points at that address follows its content's height.
// Messages are believed only from that address and only for the frame that sent them.
"use strict";

(function sizeTroubleshooterFrames() {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const appOrigin = new URL(script.src).origin;
  // Included twice (a portal template and a pasted snippet): one listener is enough.
  const marker = "__streamingTroubleshooterHost";
  if (window[marker] && window[marker].has(appOrigin)) return;
  window[marker] = window[marker] || new Set();
  window[marker].add(appOrigin);

  const HEIGHT = "streaming-troubleshooter:height";
  const ASK = "streaming-troubleshooter:ask-height";
  const MAX_HEIGHT = 50000;

  function isAppFrame(frame) {
    try {
      return new URL(frame.src, window.location.href).origin === appOrigin;
    } catch (error) {
      return false;
    }
  }

  function appFrames() {
    return Array.from(document.getElementsByTagName("iframe")).filter(isAppFrame);
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== appOrigin) return;
    const data = event.data;
    if (!data || data.type !== HEIGHT || typeof data.height !== "number" || !isFinite(data.height)) return;
    const frame = appFrames().find((candidate) => candidate.contentWindow === event.source);
    if (!frame) return;
    const height = Math.max(0, Math.min(MAX_HEIGHT, Math.round(data.height)));
    frame.style.height = height + "px";
    frame.setAttribute("scrolling", "no");
    frame.dataset.troubleshooterHeight = String(height);
  });

  function ask(frame) {
    if (frame.contentWindow) frame.contentWindow.postMessage({ type: ASK }, appOrigin);
  }

  function watch(frame) {
    if (frame.dataset.troubleshooterWatched) return;
    frame.dataset.troubleshooterWatched = "1";
    frame.addEventListener("load", () => ask(frame));
    ask(frame);
  }

  function watchAll() {
    appFrames().forEach(watch);
  }

  watchAll();
  document.addEventListener("DOMContentLoaded", watchAll);
  // Portals that are single-page apps (Docusaurus) add frames long after this script ran.
  new MutationObserver(watchAll).observe(document.documentElement, { childList: true, subtree: true });
})();
