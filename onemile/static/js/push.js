/* Notifications on this device (onemile/push): subscribe through the browser's push service
   and tell the server, or the reverse. Loaded only on the pages that offer it. */
(function () {
  'use strict';
  const box = document.querySelector('[data-push]');
  if (!box || !('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
  const offer = box.dataset.push === 'offer';
  const LATER = 'onemile-push-later';
  const on = box.querySelector('[data-push-on]');
  const off = box.querySelector('[data-push-off]');
  const later = box.querySelector('[data-push-later]');
  const status = box.querySelector('[data-push-status]');
  const token = JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRFToken'];

  function post(url, fields) {
    return fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}, body: new URLSearchParams(fields)})
      .then((response) => { if (!response.ok) throw new Error(String(response.status)); });
  }
  function tell(subscription) {
    const keys = subscription.toJSON().keys || {};
    return post(box.dataset.pushSubscribe, {endpoint: subscription.endpoint, p256dh: keys.p256dh, auth: keys.auth});
  }
  function key() {
    const base64 = box.dataset.pushKey.replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(base64 + '='.repeat((4 - base64.length % 4) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    if (later) later.hidden = subscribed;
    status.textContent = subscribed ? box.dataset.pushOnText : (offer ? '' : box.dataset.pushOffText);
  }

  navigator.serviceWorker.register(document.body.dataset.sw, {scope: '/'}).then(() => navigator.serviceWorker.ready)
    .then((registration) => registration.pushManager.getSubscription().then((subscription) => {
      // Already on: keep the server in step (this device may have changed member) and say so
      // only where settings are shown.
      if (subscription) tell(subscription).catch(() => {});
      if (offer && (subscription || Notification.permission !== 'default' || localStorage.getItem(LATER))) return;
      box.hidden = false;
      if (Notification.permission === 'denied') {
        on.hidden = true;
        status.textContent = box.dataset.pushDeniedText;
        return;
      }
      show(Boolean(subscription));
      on.addEventListener('click', () => {
        on.disabled = true;
        Notification.requestPermission()
          .then((permission) => {
            if (permission !== 'granted') throw new Error(permission);
            return registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key()});
          })
          .then((created) => tell(created).then(() => show(true)))
          .catch(() => { status.textContent = Notification.permission === 'denied' ? box.dataset.pushDeniedText : box.dataset.pushFailedText; })
          .finally(() => { on.disabled = false; });
      });
      off.addEventListener('click', () => registration.pushManager.getSubscription().then((current) => {
        if (!current) return show(false);
        const endpoint = current.endpoint;
        return current.unsubscribe().then(() => post(box.dataset.pushUnsubscribe, {endpoint})).then(() => show(false));
      }).catch(() => { status.textContent = box.dataset.pushFailedText; }));
      if (later) later.addEventListener('click', () => { localStorage.setItem(LATER, '1'); box.hidden = true; });
    }))
    .catch(() => {});
}());
