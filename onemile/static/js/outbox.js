/* 1Mile outbox: forms written offline wait in IndexedDB until they can be sent.
   Shared by the page (app.js) and the service worker (Background Sync), so that whichever
   runs first sends them; each entry carries a one-time key (client_key) and the server
   ignores a second post with the same key, so two senders racing cannot post twice. */
'use strict';
(function (scope) {
  const DB = 'onemile-outbox';
  const STORE = 'entries';

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, {keyPath: 'key'});
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function run(mode, work) {
    return open().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(result && 'result' in result ? result.result : undefined); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    }));
  }

  const outbox = {
    /* entry: {key, url, fields: [[name, value (string or Blob)]], label, page, created} */
    put: (entry) => run('readwrite', (store) => store.put(entry)),
    all: () => run('readonly', (store) => store.getAll()),
    remove: (key) => run('readwrite', (store) => store.delete(key)),
    clear: () => run('readwrite', (store) => store.clear()),
    /* Send every waiting entry once. Sent (2xx, or the redirect after a plain form) -> removed;
       refused by the server (4xx) -> kept and marked, so the text can be copied, never lost;
       network down -> kept as it is. Resolves to the number of entries still waiting. */
    flush: () => outbox.all().then((entries) => entries.reduce((previous, entry) => previous.then(() => {
      if (entry.failed) return undefined;
      const body = new FormData();
      entry.fields.forEach(([name, value]) => body.append(name, value));
      const token = entry.fields.find(([name]) => name === 'csrf_token');
      return fetch(entry.url, {
        method: 'POST', body, credentials: 'same-origin', redirect: 'follow',
        headers: token ? {'X-CSRFToken': token[1]} : {},
      }).then((response) => {
        if (response.ok) return outbox.remove(entry.key);
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          entry.failed = response.status;
          return outbox.put(entry);
        }
        return undefined;
      }, () => undefined);
    }), Promise.resolve()).then(() => outbox.all()).then((left) => left.filter((e) => !e.failed).length)),
  };
  scope.OnemileOutbox = outbox;
})(self);
