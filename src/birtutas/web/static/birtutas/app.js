// The diary, readable offline: registers the service worker (/sw.js), which keeps the last weeks
// opened. A page that did not come through the worker (the first visit) hands it its own copy;
// from then on the worker keeps each week as it comes from the network.
(function () {
  "use strict";
  var sw = navigator.serviceWorker;
  if (!sw || !window.caches) return;
  var loaded = performance.getEntriesByType("navigation")[0];
  sw.register("/sw.js").then(function () {
    if (loaded && loaded.workerStart > 0) return;
    return sw.ready.then(function (registration) {
      registration.active.postMessage({
        keep: location.href,
        html: "<!doctype html>\n" + document.documentElement.outerHTML,
      });
    });
  }).catch(function () { /* no worker: the diary still works online */ });
})();
