/* 1Mile service worker: keeps the app shell on the device so that repeat visits cost almost
   nothing and a lost connection shows a friendly page instead of the browser's error.
   Pages and htmx fragments carry personal data and CSRF tokens: they are never cached. */
'use strict';

// The server replaces __SHELL_VERSION__ with a hash of the shell files: any change to them
// changes this script, the browser installs the new worker, and the old cache is dropped.
const CACHE = 'onemile-shell-__SHELL_VERSION__';
const OFFLINE = '/offline';
const SHELL = [
  OFFLINE,
  '/static/css/app.css',
  '/static/js/app.js',
  '/static/vendor/htmx/htmx.min.js',
  '/static/vendor/leaflet/leaflet.js',
  '/static/vendor/leaflet/leaflet.css',
  '/static/vendor/leaflet/images/marker-icon.png',
  '/static/vendor/leaflet/images/marker-icon-2x.png',
  '/static/vendor/leaflet/images/marker-shadow.png',
  '/static/vendor/leaflet/images/layers.png',
  '/static/vendor/leaflet/images/layers-2x.png',
  '/static/icons/icon-192.png',
  '/static/icons/icon-512.png',
  '/static/icons/icon-maskable-512.png',
  '/manifest.json',
];

self.addEventListener('install', (event) => {
  // 'reload' skips the HTTP cache so the shell matches what the server has now.
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, {cache: 'reload'}))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith('onemile-') && name !== CACHE).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Not ours to touch: writes, other origins (map tiles) and htmx fragments go straight to the network.
  if (request.method !== 'GET' || url.origin !== self.location.origin || request.headers.has('HX-Request')) {
    return;
  }
  if (request.mode === 'navigate') {
    // Network first; the page itself is never stored, only the generic offline page is shown.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
    return;
  }
  if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.json') {
    event.respondWith(
      caches.match(request).then((cached) => cached || fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
        }
        return response;
      }))
    );
  }
});
