{% load static %}// Birtutas's service worker: the app shell and the last weeks of the diary opened, readable offline.
// Diary weeks go to the network first and fall back to the copy kept here; nothing else is kept
// (other pages go to the network, with a small page when it cannot be reached). Signing out sends
// Clear-Site-Data, which empties these caches and removes this worker.
"use strict";
var SHELL = "birtutas-shell-{{ version }}";
var DIARY = "birtutas-diary";
var KEEP = 4;
var OFFLINE = "{% url 'offline' %}";
var ASSETS = ["{% static 'birtutas/birtutas.css' %}", "{% static 'birtutas/app.js' %}", "{% static 'birtutas/icon.svg' %}", OFFLINE];
var WEEK = /^\/diary\/\d+\/$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("birtutas-shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isWeek(url) {
  return url.origin === location.origin && WEEK.test(url.pathname);
}

// Keep a week's page (replacing an older copy of it, never leaving a gap), then only the last KEEP
// weeks opened: each copy says when it was kept.
function keep(url, html) {
  var copy = new Response(html, {headers: {"Content-Type": "text/html; charset=utf-8", "X-Kept": String(Date.now())}});
  return caches.open(DIARY).then(function (cache) {
    return cache.put(url, copy).then(function () { return cache.keys(); }).then(function (keys) {
      return Promise.all(keys.map(function (key) { return cache.match(key); })).then(function (copies) {
        var kept = keys.map(function (key, i) { return [Number(copies[i].headers.get("X-Kept")) || 0, key]; });
        kept.sort(function (a, b) { return b[0] - a[0]; });
        return Promise.all(kept.slice(KEEP).map(function (old) { return cache.delete(old[1]); }));
      });
    });
  });
}

function offline() {
  return caches.match(OFFLINE).then(function (page) {
    return page || new Response("offline", {status: 503, headers: {"Content-Type": "text/plain"}});
  });
}

// The week from the network, saying that the stylesheet is here (the page then links it, not inlines it).
function week(event) {
  var request = new Request(event.request.url, {
    headers: {"{{ header }}": "{{ version }}"}, credentials: "include", redirect: "manual",
  });
  return fetch(request).then(function (response) {
    if (response.status === 200 && response.type === "basic") {
      event.waitUntil(response.clone().text().then(function (html) { return keep(event.request.url, html); }));
    }
    return response;
  }, function () {
    return caches.open(DIARY).then(function (cache) {
      return cache.match(event.request.url, {ignoreVary: true});
    }).then(function (copy) {
      if (!copy) return offline();
      // Say that this is the copy kept here, not the week as it is now.
      return copy.text().then(function (html) {
        return new Response(html.replace(/data-offline(="")? hidden(="")?/, "data-offline"), {
          headers: {"Content-Type": "text/html; charset=utf-8"},
        });
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(isWeek(url) ? week(event) : fetch(request).catch(offline));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
});

// The page's own copy of its week, on the first visit (before this worker controlled it).
self.addEventListener("message", function (event) {
  var data = event.data || {};
  var url = typeof data.keep === "string" ? new URL(data.keep, location.href) : null;
  if (!url || !isWeek(url) || typeof data.html !== "string") return;
  event.waitUntil(keep(url.href, data.html));
});
