/* 1Mile service worker: keeps the app shell on the device so that repeat visits cost almost
   nothing, keeps the member's last pages (their mile's list, conversations, smiles) to open
   them offline, and sends what was written offline when the connection returns. */
'use strict';

// The server fills in the shell: every static URL carries its content hash (?v=…), so the
// worker changes (and the old cache is dropped) whenever a shell file does.
const CACHE = 'onemile-shell-__SHELL_VERSION__';
// The member's last pages: kept across deploys, cleared at logout (a "forget" message).
const PAGES = 'onemile-pages';
// The offline page, in each language (the server puts them here), speaks the language of
// the last page seen: its Content-Language, kept in the shell's cache (the worker is stopped
// between visits); before any, the browser's.
const OFFLINE_PAGES = __OFFLINE_PAGES__;
const OFFLINE_HEADERS = __OFFLINE_HEADERS__;
const LANGUAGE_KEY = '/offline/language';
let lastLanguage = null;
const SHELL = __SHELL__;
// Pages worth opening offline: my map (where the installed app opens) and the page "me",
// the list around me, my listings and a listing (its conversations), my conversations and
// each of them, my smiles, my notifications. Never fragments, never writes.
const SAVED = [/^\/(map|me)$/, /^\/listings\/(mine)?$/, /^\/listings\/\d+$/, /^\/conversations\/(\d+)?$/,
  /^\/smiles\/$/, /^\/notifications\/$/];

importScripts(__OUTBOX_SCRIPT__);

self.addEventListener('install', (event) => {
  // Versioned URLs never change content, so the copies the page just downloaded (HTTP
  // cache) are right and installing costs no second download.
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, {cache: 'default'}))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith('onemile-') && name !== CACHE && name !== PAGES).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

function offlinePage() {
  return caches.open(CACHE).then((cache) => cache.match(LANGUAGE_KEY))
    .then((known) => (known ? known.text() : (self.navigator.language || '').slice(0, 2)))
    .then((language) => new Response(OFFLINE_PAGES[language] || Object.values(OFFLINE_PAGES)[0], {headers: OFFLINE_HEADERS}));
}

// A saved page says when it was saved: the page script shows "saved copy from …".
function markSaved(response) {
  const saved = response.headers.get('X-Saved-At') || '';
  return response.text().then((html) => new Response(
    html.replace('<body ', `<body data-saved-at="${saved.replace(/[^0-9TZ:.-]/g, '')}" `),
    {status: 200, headers: {'Content-Type': 'text/html; charset=utf-8'}}
  ));
}

function savePage(request, response) {
  const headers = new Headers(response.headers);
  headers.set('X-Saved-At', new Date().toISOString());
  return response.clone().blob().then((body) => caches.open(PAGES)
    .then((cache) => cache.put(request.url, new Response(body, {status: 200, headers}))));
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Not ours to touch: writes, other origins (map tiles) and htmx fragments go straight to the network.
  if (request.method !== 'GET' || url.origin !== self.location.origin || request.headers.has('HX-Request')) {
    return;
  }
  if (request.mode === 'navigate') {
    const saved = SAVED.some((pattern) => pattern.test(url.pathname));
    // Network first; a saved page (or the generic offline page) when the network is gone.
    event.respondWith(fetch(request).then((response) => {
      if (saved && response.ok && !response.redirected && response.type === 'basic') {
        event.waitUntil(savePage(request, response));
      }
      const language = response.headers.get('Content-Language');
      if (language in OFFLINE_PAGES && language !== lastLanguage) {
        lastLanguage = language;
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(LANGUAGE_KEY, new Response(language))).catch(() => {}));
      }
      return response;
    }).catch(() => (saved ? caches.open(PAGES).then((cache) => cache.match(request.url)) : Promise.resolve())
      .then((copy) => (copy ? markSaved(copy) : offlinePage()))));
    return;
  }
  if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.json') {
    event.respondWith(
      caches.match(request).then((cached) => cached || fetch(request).then((response) => {
        // Versioned files are kept as they come (Leaflet on the first map page, for example).
        if (response.ok && url.searchParams.has('v')) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
        }
        return response;
      }))
    );
  }
});

self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type === 'forget') {
    // Logout: the next person on this device must not see this member's pages or drafts.
    // Nor be told about their notifications: the push subscription goes too (the server
    // forgets it at the next push, which the push service answers 410).
    event.waitUntil(Promise.all([caches.delete(PAGES), self.OnemileOutbox.clear(),
      self.registration.pushManager.getSubscription().then((subscription) => subscription && subscription.unsubscribe())]));
  } else if (data.type === 'forget-pages') {
    // Logging in (perhaps someone else, after a session ran out): no earlier member's pages.
    // Drafts stay: the same member finds them again; anyone else cannot send them (the
    // session and its CSRF token are gone) and never sees them outside their own pages.
    event.waitUntil(caches.delete(PAGES));
  }
});

// Background Sync: the browser wakes the worker when the connection returns, even with no
// 1Mile tab open, and it sends what waits in the outbox.
self.addEventListener('sync', (event) => {
  if (event.tag === 'outbox') {
    event.waitUntil(self.OnemileOutbox.flush().then((left) => {
      // Still waiting (the network went again): a rejected promise makes the browser retry later.
      if (left) throw new Error('outbox not empty');
      return self.clients.matchAll().then((clients) => clients.forEach((client) => client.postMessage({type: 'outbox-sent'})));
    }));
  }
});

// --- Web Push (onemile/push): every push shows a notification (browsers require it), with
// what the server wrote in the member's language; a click opens the page it is about.
const HOME = '/notifications/';

function samePath(url) {
  // Only a path of this site: a payload can never send the member elsewhere.
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : HOME;
}

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  event.waitUntil(self.registration.showNotification(String(data.title || '1Mile'), {
    body: String(data.body || ''),
    icon: samePath(data.icon) === HOME ? undefined : data.icon,
    tag: data.tag ? String(data.tag) : undefined,
    lang: data.lang ? String(data.lang) : undefined,
    data: {url: samePath(data.url)},
  }));
});

// The browser may replace the subscription with no page open (keys rotated, expired): tell the
// server, proving it with the old subscription's auth secret (onemile/push: renew). Without
// an old subscription to prove it with, the next page that offers notifications sends the
// new one, as it does on every visit.
function renewSubscription(oldSubscription, newSubscription) {
  if (!oldSubscription) return Promise.resolve(null);
  const fresh = newSubscription ? Promise.resolve(newSubscription)
    : self.registration.pushManager.subscribe(oldSubscription.options);
  return fresh.then((subscription) => {
    const before = oldSubscription.toJSON().keys || {};
    const after = subscription.toJSON().keys || {};
    return fetch('/push/subscriptions/renew', {method: 'POST', body: new URLSearchParams({
      old_endpoint: oldSubscription.endpoint, old_auth: before.auth || '',
      endpoint: subscription.endpoint, p256dh: after.p256dh || '', auth: after.auth || '',
    })});
  });
}
self.onemileRenewSubscription = renewSubscription; // tests call it (they cannot rotate keys)

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription).catch(() => null));
});

// Focus a window already on that page, else open one; where a new window is not allowed,
// bring an open 1Mile window there.
function openPage(notification) {
  const url = new URL(samePath(notification.data && notification.data.url), self.location.origin).href;
  return self.clients.matchAll({type: 'window', includeUncontrolled: true}).then((windows) => {
    const open = windows.find((client) => client.url === url);
    if (open) return open.focus().catch(() => open);
    return self.clients.openWindow(url).catch(() => null).then((opened) => {
      const ours = windows.find((client) => new URL(client.url).origin === self.location.origin);
      return opened || (ours && ours.navigate(url));
    });
  });
}
self.onemileOpenPage = openPage; // tests reach it from the worker (they cannot click a notification)

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openPage(event.notification));
});
