/* 1Mile glue: the server renders everything; this only wires Leaflet to the forms and
   fragments already in the page. With JS off every form still submits normally. */
(function () {
  'use strict';
  const body = document.body;
  const GREEN = '#0b6e4f';
  // Same hues as .tag-request / .tag-offer in app.css: the map and the lists agree.
  const COLOURS = {requests: '#b03a0c', offers: '#1c5fa8', projects: '#7a3fa0', mags: '#7a5a00'};
  const TEXT = {
    fr: {locating: 'Recherche de votre position…', failed: 'Position introuvable : saisissez-la ou touchez la carte.',
      zoomIn: 'Zoom avant', zoomOut: 'Zoom arrière', map: 'Carte',
      saved: 'Vous êtes hors ligne — copie enregistrée le ', waiting: 'En attente d’envoi : ',
      refused: 'Non envoyé (refusé par le serveur), copiez votre texte : ', discard: 'Supprimer'},
    en: {locating: 'Finding your location…', failed: 'Location not found: type it or tap the map.',
      zoomIn: 'Zoom in', zoomOut: 'Zoom out', map: 'Map',
      saved: 'You are offline — saved copy from ', waiting: 'Waiting to send: ',
      refused: 'Not sent (refused by the server), copy your text: ', discard: 'Discard'},
  };
  const text = TEXT[document.documentElement.lang.slice(0, 2)] || TEXT.en;
  const all = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const num = (value) => parseFloat(String(value).replace(',', '.')); // French users type commas
  const round6 = (x) => Math.round(x * 1e6) / 1e6;
  const onGlobe = (lat, lon) => Math.abs(lat) <= 90 && Math.abs(lon) <= 180; // false for NaN

  if ('serviceWorker' in navigator && body.dataset.sw) {
    // Offline support is a bonus: a failed registration must not break the page.
    // Registered once the page is loaded: its files are then in the HTTP cache, and the
    // worker's install takes them from there instead of downloading them again.
    const register = () => navigator.serviceWorker.register(body.dataset.sw, {scope: '/'}).catch(() => {});
    if (document.readyState === 'complete') register(); else window.addEventListener('load', register);
  }

  // Write a point into a form (latitude/longitude, or the avatar's lat/lon) and tell its map.
  function setPoint(form, lat, lon, fly) {
    const detail = {lat: round6(lat), lon: round6(lon), fly};
    ['latitude', 'longitude', 'lat', 'lon'].forEach((name, i) => {
      if (form.elements[name]) form.elements[name].value = i % 2 ? detail.lon : detail.lat;
    });
    form.dispatchEvent(new CustomEvent('point-picked', {detail}));
  }

  function baseMap(el) {
    // Leaflet makes the map focusable (arrow keys pan it): it needs a name.
    if (!el.hasAttribute('role')) {
      el.setAttribute('role', 'region');
      el.setAttribute('aria-label', text.map);
    }
    const map = L.map(el);
    // The attribution is trusted server configuration (it holds a link), not user text.
    L.tileLayer(el.dataset.tiles, {attribution: el.dataset.attribution, maxZoom: 19}).addTo(map);
    return map;
  }

  // The picked point's pin, drawn in place (an SVG data URL, allowed by img-src data:):
  // Leaflet's default marker would cost two more image downloads on every map page.
  const PIN = window.L && L.icon({
    iconUrl: 'data:image/svg+xml,' + encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" width="25" height="41" viewBox="0 0 25 41">'
      + '<path d="M12.5 1C6 1 1 6 1 12.5 1 21 12.5 40 12.5 40S24 21 24 12.5C24 6 19 1 12.5 1z" fill="' + GREEN
      + '" stroke="#fff" stroke-width="2"/><circle cx="12.5" cy="12.5" r="4.5" fill="#fff"/></svg>'),
    iconSize: [25, 41], iconAnchor: [12, 41], popupAnchor: [1, -34], // as Leaflet's own pin
  });

  // A form whose point is picked on the map: click it, drag the marker, or geolocate.
  function pickInto(map, form, at, options) {
    let marker, circle;
    const show = (point) => {
      if (!marker) {
        marker = L.marker(point, Object.assign({draggable: true, icon: PIN}, options)).addTo(map);
        marker.on('dragend', () => { const p = marker.getLatLng().wrap(); setPoint(form, p.lat, p.lng); });
        if (options.radius) circle = L.circle(point, {radius: options.radius, color: GREEN, dashArray: '6 6', interactive: false}).addTo(map);
      }
      marker.setLatLng(point);
      if (circle) circle.setLatLng(point);
    };
    if (at) show(at);
    map.on('click', (e) => { const p = e.latlng.wrap(); setPoint(form, p.lat, p.lng); });
    form.addEventListener('point-picked', (e) => {
      show([e.detail.lat, e.detail.lon]);
      if (e.detail.fly) map.setView([e.detail.lat, e.detail.lon], Math.max(map.getZoom(), 15));
    });
    return show;
  }

  // Main map: markers are redrawn from the #markers list (the data and the accessible view).
  function mainMap(el) {
    const data = el.dataset;
    const form = document.getElementById('avatar-form');
    const list = document.getElementById('markers');
    const here = [num(data.lat), num(data.lon)];
    const map = baseMap(el).setView(here, 14);
    const mile = L.circle([num(data.circleLat), num(data.circleLon)], {radius: num(data.radius), color: GREEN, weight: 2, fillOpacity: 0.05})
      .bindTooltip(data.circleLabel, {sticky: true}).addTo(map);
    // Open on the whole mile, unless the avatar explores somewhere outside it.
    if (mile.getBounds().contains(here)) map.fitBounds(mile.getBounds(), {padding: [6, 6]});
    const group = L.layerGroup().addTo(map);

    function popup(li) {
      // textContent only: titles are user text.
      const box = document.createElement('div');
      // Photos on ads (branch photos): the cover, loaded only when the popup opens.
      if (li.dataset.photo) {
        box.appendChild(Object.assign(document.createElement('img'), {className: 'popup-photo', alt: '',
          src: data.photoUrl.replace('PHOTO', li.dataset.photo), width: 240, height: 135}));
      }
      const link = box.appendChild(document.createElement('a'));
      link.href = li.dataset.url;
      link.textContent = li.querySelector('a').textContent.trim();
      box.appendChild(document.createElement('p')).textContent = li.dataset.label;
      if (li.dataset.answerUrl) { // members only, never on their own listings
        const answer = box.appendChild(document.createElement('p')).appendChild(document.createElement('a'));
        answer.href = li.dataset.answerUrl;
        answer.textContent = data.answerLabel;
      }
      return box;
    }
    function draw() {
      group.clearLayers();
      all('li[data-id]', list).forEach((li) => {
        const own = li.dataset.own === '1';
        L.circleMarker([num(li.dataset.lat), num(li.dataset.lon)], {
          radius: 8, color: own ? '#111' : '#fff', weight: own ? 3 : 2,
          fillColor: COLOURS[li.dataset.layer] || '#555', fillOpacity: 0.9,
          bubblingMouseEvents: false, // opening a popup must not also move the avatar
        }).bindPopup(() => popup(li)).addTo(group);
      });
      // Zoomed out, the server sends counts per grid cell: a click (or Enter) zooms into the cell.
      all('li[data-cluster]', list).forEach((li) => {
        const count = document.createElement('span');
        count.textContent = li.dataset.cluster;
        const label = li.querySelector('a').textContent.trim();
        L.marker([num(li.dataset.lat), num(li.dataset.lon)], {
          icon: L.divIcon({html: count, className: 'cluster-icon', iconSize: [36, 36]}),
          title: label, alt: label, keyboard: true, bubblingMouseEvents: false,
        }).on('click', () => map.fitBounds([
          [num(li.dataset.south), num(li.dataset.west)], [num(li.dataset.north), num(li.dataset.east)],
        ])).addTo(group);
      });
    }
    function refresh() {
      const box = map.getBounds();
      const clamp = (value, limit) => round6(Math.max(-limit, Math.min(limit, value)));
      const params = new URLSearchParams({
        south: clamp(box.getSouth(), 90), west: clamp(box.getWest(), 180),
        north: clamp(box.getNorth(), 90), east: clamp(box.getEast(), 180),
      });
      if (form) ['lat', 'lon'].forEach((name) => params.set(name, num(form.elements[name].value)));
      if (data.mile) params.set('mile', data.mile);
      htmx.ajax('GET', data.markersUrl + '?' + params, {source: list, target: list, swap: 'innerHTML'});
    }
    if (list) {
      draw();
      list.addEventListener('htmx:afterSwap', draw);
      let timer;
      map.on('moveend', () => { clearTimeout(timer); timer = setTimeout(refresh, 300); });
    }
    if (!form) return;

    const avatar = pickInto(map, form, here, {title: data.avatarLabel, alt: data.avatarLabel, zIndexOffset: 1000});
    // htmx refreshes the nearest panel on avatar-moved (hx-trigger="submit, avatar-moved").
    const moved = () => form.dispatchEvent(new CustomEvent('avatar-moved'));
    form.addEventListener('point-picked', moved);
    // Typed coordinates: send dots rather than commas, and bring the map along.
    form.addEventListener('htmx:configRequest', (e) => {
      const params = e.detail.parameters;
      const lat = num(params.lat), lon = num(params.lon);
      if (!onGlobe(lat, lon)) return; // the server falls back to its own point
      params.lat = lat;
      params.lon = lon;
      if (e.detail.triggeringEvent && e.detail.triggeringEvent.type === 'submit') {
        avatar([lat, lon]);
        map.panTo([lat, lon]);
      }
    });
    // The layers form answers with HX-Trigger: layers-changed, fired on it and bubbling here.
    el.parentNode.addEventListener('layers-changed', () => { refresh(); moved(); });
  }

  // "My miles": drag a centre to move that mile (its form submits); click to place a new one.
  function milesMap(el) {
    const radius = num(el.dataset.radius);
    const map = baseMap(el);
    let bounds = null;
    all('li[data-mile]').forEach((li) => {
      const point = L.latLng(num(li.dataset.lat), num(li.dataset.lon));
      const circle = L.circle(point, {radius, color: GREEN, weight: 2, fillOpacity: 0.05, interactive: false}).addTo(map);
      const name = document.createElement('span');
      name.textContent = li.dataset.name; // user text: never as HTML
      const marker = L.marker(point, {draggable: true, title: li.dataset.name, alt: li.dataset.name})
        .bindTooltip(name, {permanent: true, direction: 'top', offset: [-15, -30]}).addTo(map);
      marker.on('drag', () => circle.setLatLng(marker.getLatLng()));
      marker.on('dragend', () => {
        const form = document.querySelector('form[data-move-form="' + CSS.escape(li.dataset.mile) + '"]');
        const p = marker.getLatLng().wrap();
        form.elements.latitude.value = round6(p.lat);
        form.elements.longitude.value = round6(p.lng);
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
      bounds = point.toBounds(radius * 2).extend(bounds || point);
    });
    if (bounds) map.fitBounds(bounds, {padding: [12, 12]}); else map.setView([46.6, 2.4], 5);
    const add = document.querySelector('form[data-add-mile]');
    if (add) pickInto(map, add, null, {radius, opacity: 0.8});
  }

  // Sign-up: pick the centre of the first mile when the postal code is unknown; a listing:
  // pick its meeting place.
  function picker(el) {
    const form = el.closest('form');
    const map = baseMap(el).setView([num(el.dataset.lat), num(el.dataset.lon)], num(el.dataset.zoom) || 5);
    const lat = num(form.elements.latitude.value), lon = num(form.elements.longitude.value);
    pickInto(map, form, onGlobe(lat, lon) && [lat, lon], {});
    if (el.dataset.picker === 'meeting') {
      // Picking a place on the map means: show my listing at this meeting place.
      const choice = form.querySelector('input[name="location_mode"][value="meeting_place"]');
      form.addEventListener('point-picked', () => { if (choice) choice.checked = true; });
    }
    // A closed <details> has no size: Leaflet must measure again once it opens.
    const details = el.closest('details');
    if (details) details.addEventListener('toggle', () => map.invalidateSize());
    // The same when CSS hides the map until its choice is made (the listing form's meeting place).
    if (window.ResizeObserver) new ResizeObserver(() => map.invalidateSize()).observe(el);
  }

  function geolocate(button) {
    // Hidden in the HTML: it only works with JavaScript and a browser that can locate.
    if (!navigator.geolocation || !button.form) return;
    button.hidden = false;
    // A live region must exist before it speaks, or screen readers may miss it.
    const status = document.createElement('p');
    status.className = 'hint';
    status.setAttribute('role', 'status');
    button.parentNode.after(status);
    button.addEventListener('click', () => {
      status.textContent = text.locating;
      navigator.geolocation.getCurrentPosition(
        (pos) => { status.textContent = ''; setPoint(button.form, pos.coords.latitude, pos.coords.longitude, true); },
        () => { status.textContent = text.failed; },
        {timeout: 15000, maximumAge: 60000});
    });
  }

  /* htmx restores focus by id only. If the focused element (a layer checkbox) was swapped away,
     refocus its twin, else the new heading, not <body>. Focus outside the swap is left alone:
     typing in the search box while #results refreshes is never disturbed. Swaps overlap (a
     layer toggle refreshes the markers and the nearest panel), so each target keeps its own. */
  const lost = new WeakMap();
  // hx-disabled-elt disables the button that was pressed, and a disabled button drops the
  // focus: remember where it was when the request left.
  const focusAtRequest = new WeakMap();
  body.addEventListener('htmx:beforeRequest', (e) => {
    if (document.activeElement && document.activeElement !== body) focusAtRequest.set(e.target, document.activeElement);
  });
  body.addEventListener('htmx:beforeSwap', (e) => {
    const target = e.detail.target, requester = e.detail.requestConfig && e.detail.requestConfig.elt;
    const atRequest = requester && focusAtRequest.get(requester);
    if (requester) focusAtRequest.delete(requester);
    let active = document.activeElement;
    if (!active || active === body) active = atRequest;
    if (!active || !target || !target.contains(active)) return;
    const was = {id: target.id};
    if (active.name && active.form && active.form.id) {
      was.selector = '#' + CSS.escape(active.form.id) + ' [name="' + CSS.escape(active.name) + '"]' +
        (/^(checkbox|radio)$/.test(active.type) ? '[value="' + CSS.escape(active.value) + '"]' : '');
    }
    lost.set(target, was);
  });
  body.addEventListener('htmx:afterSettle', (e) => {
    const old = e.detail.target, was = old && lost.get(old), active = document.activeElement;
    if (!was) return;
    lost.delete(old);
    if (active && active !== body) return; // focus survived
    let next = was.selector && document.querySelector(was.selector);
    // An outerHTML swap replaced the target itself: its successor has the same id.
    const target = old.isConnected ? old : was.id && document.getElementById(was.id);
    if (!next && target) {
      // Read out what just happened (a confirmation, an error) first, else where one is.
      next = target.querySelector('[role="alert"], [role="status"]') || target.querySelector('h1, h2, h3') || target;
      // Focusable by script only: a link or a button keeps its place in the Tab order.
      if (next.tabIndex < 0 && !next.hasAttribute('tabindex')) next.setAttribute('tabindex', '-1');
    }
    if (next) next.focus();
  });

  // A conversation's live updates (.poller, hx-trigger="every 3s") pause while the page is
  // hidden: a phone in a pocket pays nothing. The next tick after it shows again catches up.
  body.addEventListener('htmx:beforeRequest', (e) => {
    if (document.hidden && e.detail.elt.classList.contains('poller')) e.preventDefault();
  });

  // A 503 (the database away for a moment, onemile/outage.py) put its notice in #outage; the
  // first request that succeeds afterwards means it is back, so the notice goes.
  body.addEventListener('htmx:afterRequest', (e) => {
    const notice = document.getElementById('outage');
    if (e.detail.successful && notice && notice.firstChild) notice.textContent = '';
  });

  // Share an article: the phone's share sheet where the browser has one, else copy the link.
  // The button stays hidden without JavaScript; the link is always in the field next to it.
  function shareButton(button) {
    const status = button.closest('section').querySelector('[data-share-status]');
    const say = (text) => { if (status) status.textContent = text; };
    const data = {title: button.dataset.shareTitle, text: button.dataset.shareText, url: button.dataset.shareUrl};
    const canShare = navigator.share && (!navigator.canShare || navigator.canShare(data));
    if (!canShare && !(navigator.clipboard && window.isSecureContext)) return; // the field is enough
    button.hidden = false;
    button.addEventListener('click', () => {
      if (canShare) {
        // AbortError: the member closed the sheet; nothing to say.
        navigator.share(data).catch(() => {});
        return;
      }
      navigator.clipboard.writeText(data.url).then(
        () => say(button.dataset.copied),
        () => say(button.dataset.copyFailed));
    });
  }

  // A saved copy opened offline (the service worker marks it): say so, with its date.
  if (body.dataset.savedAt) {
    const banner = document.createElement('p');
    banner.className = 'offline-banner';
    banner.setAttribute('role', 'status');
    const saved = new Date(body.dataset.savedAt);
    banner.textContent = text.saved + (isNaN(saved) ? '' : saved.toLocaleString(document.documentElement.lang));
    document.getElementById('main').prepend(banner);
  }

  // The outbox (static/js/outbox.js): a reply or a new ad written offline is kept, shown as
  // waiting, and sent when the connection returns. Every such form carries a one-time key
  // (client_key), so a post that reached the server before the connection dropped is not
  // posted again when it is replayed.
  const OUTBOX_ACTIONS = [/^\/conversations\/\d+\/messages$/, /^\/listings\/new$/];
  const outbox = window.OnemileOutbox;
  const isOutboxForm = (form) => form && form.tagName === 'FORM' && (form.method || '').toLowerCase() === 'post'
    && OUTBOX_ACTIONS.some((pattern) => pattern.test(new URL(form.action, location.href).pathname));
  const newKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(36) + Math.random().toString(36).slice(2));
  function keyOf(form) {
    let field = form.querySelector('input[name=client_key]');
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = 'client_key';
      form.append(field);
    }
    if (!field.value) field.value = newKey();
    return field.value;
  }
  function showWaiting() {
    all('.outbox').forEach((el) => el.remove());
    if (!outbox) return Promise.resolve();
    return outbox.all().then((entries) => entries.filter((e) => e.page === location.pathname).forEach((entry) => {
      const form = all('form').find((f) => new URL(f.action, location.href).href === entry.url);
      const item = document.createElement('p');
      item.className = 'outbox' + (entry.failed ? ' outbox-failed' : '');
      item.setAttribute('role', 'status');
      item.textContent = (entry.failed ? text.refused : text.waiting) + entry.label;
      if (entry.failed) {
        const discard = document.createElement('button');
        discard.type = 'button';
        discard.className = 'link';
        discard.textContent = text.discard;
        discard.addEventListener('click', () => outbox.remove(entry.key).then(showWaiting));
        item.append(' ', discard);
      }
      (form ? form.parentNode : document.getElementById('main')).insertBefore(item, form || null);
    })).catch(() => {});
  }
  function keep(form) {
    keyOf(form);
    const fields = Array.from(new FormData(form).entries());
    const typed = fields.find(([name]) => name === 'body' || name === 'title');
    const entry = {key: keyOf(form), url: new URL(form.action, location.href).href, fields,
      label: typed ? String(typed[1]) : '', page: location.pathname, created: Date.now()};
    return outbox.put(entry).then(() => {
      form.reset();
      form.querySelector('input[name=client_key]').value = '';
      // Where the browser has Background Sync, it sends even if this tab is closed.
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register('outbox')).catch(() => {});
      }
      return showWaiting();
    });
  }
  function flush() {
    if (!outbox || !navigator.onLine) return;
    outbox.flush().then(showWaiting, () => {});
  }
  if (outbox && window.indexedDB) {
    // Offline at the moment of sending: keep it instead (before htmx or the browser try).
    document.addEventListener('submit', (e) => {
      if (navigator.onLine || !isOutboxForm(e.target)) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      keep(e.target);
    }, true);
    // Online, every post of these forms carries its one-time key.
    document.addEventListener('submit', (e) => { if (isOutboxForm(e.target)) keyOf(e.target); }, true);
    body.addEventListener('htmx:configRequest', (e) => {
      if (isOutboxForm(e.detail.elt)) e.detail.parameters.client_key = keyOf(e.detail.elt);
    });
    // Online but the request never got an answer: keep it with the same key (it may have
    // reached the server; the key makes the replay harmless).
    body.addEventListener('htmx:sendError', (e) => { if (isOutboxForm(e.detail.elt)) keep(e.detail.elt); });
    body.addEventListener('htmx:afterRequest', (e) => {
      const key = e.detail.elt.querySelector && e.detail.elt.querySelector('input[name=client_key]');
      if (e.detail.successful && key) key.value = ''; // sent: the next message gets a new key
    });
    window.addEventListener('online', flush);
    if (navigator.serviceWorker) {
      navigator.serviceWorker.addEventListener('message', (e) => { if (e.data && e.data.type === 'outbox-sent') showWaiting(); });
    }
    showWaiting().then(flush);
  }

  // Logging out forgets this member's saved pages and drafts on the device; logging in
  // forgets saved pages (they may be someone else's, whose session ran out).
  const tellWorker = (type) => navigator.serviceWorker && navigator.serviceWorker.controller
    && navigator.serviceWorker.controller.postMessage({type});
  const formsTo = (path) => all('form[method=post]').filter((form) => new URL(form.action, location.href).pathname === path);
  formsTo('/auth/logout').forEach((form) => form.addEventListener('submit', () => {
    tellWorker('forget');
    if (outbox) outbox.clear().catch(() => {});
  }));
  formsTo('/auth/login').forEach((form) => form.addEventListener('submit', () => tellWorker('forget-pages')));

  all('button[data-geolocate]').forEach(geolocate);
  all('button[data-share]').forEach(shareButton);
  if (!window.L) return; // Leaflet is only loaded on pages with a map
  // Leaflet's own controls speak the page's language.
  L.Control.Zoom.mergeOptions({zoomInTitle: text.zoomIn, zoomOutTitle: text.zoomOut});
  if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) {
    // No zoom, fade or inertia animation; and panBy (arrow keys, popups, panTo, fitBounds
    // within reach) jumps instead of gliding, since Leaflet animates it unless told not to.
    L.Map.mergeOptions({zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false, inertia: false});
    const panBy = L.Map.prototype.panBy;
    L.Map.include({panBy(offset, options) { return panBy.call(this, offset, Object.assign({}, options, {animate: false})); }});
  }
  const leaflet = document.querySelector('script[src*="leaflet.js"]');
  if (leaflet) L.Icon.Default.imagePath = leaflet.src.replace(/leaflet\.js.*$/, 'images/');
  const main = document.getElementById('map');
  if (main) mainMap(main);
  all('[data-miles-map]').forEach(milesMap);
  all('[data-picker]').forEach(picker);
}());
