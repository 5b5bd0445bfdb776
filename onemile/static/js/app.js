/* 1Mile glue: the server renders everything; this only wires Leaflet to the forms and
   fragments already in the page. With JS off every form still submits normally. */
(function () {
  'use strict';
  const body = document.body;
  const GREEN = '#0b6e4f';
  // Map symbols (16 × 16, stroked): a listing's category, else its layer.
  const SVG = 'http://www.w3.org/2000/svg';
  const SYMBOLS = {
    carpooling: 'M2 10l1.5-4h9l1.5 4v3H2zM4.5 13v1.5M11.5 13v1.5M2 10h12',
    diy: 'M3 13l6-6M8 4l4 4 2-2-4-4z',
    repairs: 'M10 2a3 3 0 0 0-3 4L2 11l3 3 5-5a3 3 0 0 0 4-3l-2 1-2-2 1-2z',
    lessons: 'M2 3h5a1 1 0 0 1 1 1v10a1 1 0 0 0-1-1H2zM14 3H9a1 1 0 0 0-1 1v10a1 1 0 0 1 1-1h5z',
    leisure: 'M8 2l1.8 3.8 4.2.5-3.1 2.9.8 4.1L8 11.3l-3.7 2 .8-4.1L2 6.3l4.2-.5z',
    goods: 'M2 5l6-3 6 3v6l-6 3-6-3zM2 5l6 3 6-3M8 8v6',
    other: 'M4 8h.01M8 8h.01M12 8h.01',
    projects: 'M8 14V7M8 7C8 4 5 3 3 3c0 3 2 4 5 4zM8 9c0-2 2-4 5-4 0 3-2 4-5 4z',
    mags: 'M3 3h8v10H4a1 1 0 0 1-1-1zM11 6h2v6a1 1 0 0 1-2 0M5 5.5h4M5 8h4M5 10.5h3',
    requests: 'M8 3v10M3 8h10',
    offers: 'M8 14s-5-3-5-7a3 3 0 0 1 5-1 3 3 0 0 1 5 1c0 4-5 7-5 7z',
  };
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
  const BADGE_GAP = 48; // px between two group badges' centres (44 px at most each, and room)
  const PIN_GAP = 56; // px from the middle of the member's pin to a badge's centre
  // px between the centres of two ads' pins (30 px wide), of a badge and a pin, of the
  // member's pin and an ad's: no middle is ever covered.
  const ROOM = {pin: 26, badge: 37, avatar: 28};
  const num = (value) => parseFloat(String(value).replace(',', '.')); // French users type commas
  const round6 = (x) => Math.round(x * 1e6) / 1e6;
  const onGlobe = (lat, lon) => Math.abs(lat) <= 90 && Math.abs(lon) <= 180; // false for NaN
  const MARKER_BATCH = 10; // markers or badges added per task (a few ms on a mid-range phone)

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
    // The attribution is trusted server configuration (it holds a link), not user text. The
    // tiles are laid in a task of their own, once the caller has set the view.
    const tiles = L.tileLayer(el.dataset.tiles, {attribution: el.dataset.attribution, maxZoom: 19});
    setTimeout(() => tiles.addTo(map), 0);
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
    const here = L.latLng(num(data.lat), num(data.lon));
    const centre = L.latLng(num(data.circleLat), num(data.circleLon)), radius = num(data.radius);
    const map = baseMap(el);
    // The first view is set once, before any tile: the whole mile, unless the avatar explores
    // somewhere outside it (a second view would animate a zoom and fetch two sets of tiles).
    const mileBox = centre.toBounds(2 * radius);
    if (mileBox.contains(here)) map.fitBounds(mileBox, {padding: [6, 6], animate: false});
    else map.setView(here, 14, {animate: false});
    const group = L.layerGroup().addTo(map), badges = L.layerGroup().addTo(map);

    function popup(li) {
      // textContent only: titles are user text.
      const box = document.createElement('div');
      // Photos on ads (branch photos): the cover, loaded only when the popup opens.
      if (li.dataset.photo) {
        box.appendChild(Object.assign(document.createElement('img'), {className: 'popup-photo', alt: '',
          src: data.photoUrl.replace('PHOTO', li.dataset.photo), width: 240, height: 135}));
      }
      const link = box.appendChild(document.createElement('a'));
      link.href = li.querySelector('a').href;
      link.textContent = li.querySelector('a').textContent.trim();
      box.appendChild(document.createElement('p')).textContent = li.querySelector('.meta').textContent.trim();
      if (li.dataset.answerUrl) { // members only, never on their own listings
        const answer = box.appendChild(document.createElement('p')).appendChild(document.createElement('a'));
        answer.href = li.dataset.answerUrl;
        answer.textContent = data.answerLabel;
      }
      return box;
    }
    // Issue 15: a marker is a round badge in its layer's colour with its category's (or its
    // layer's) symbol, built with the DOM (no HTML string, no icon font); markers that share
    // a point are spread around it; a group is a count badge coloured by its main layer.
    function symbol(name) {
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', '0 0 16 16');
      svg.setAttribute('aria-hidden', 'true');
      const path = svg.appendChild(document.createElementNS(SVG, 'path'));
      path.setAttribute('d', SYMBOLS[name] || SYMBOLS.other);
      return svg;
    }
    function spread(items, fixed) {
      // Pins too close on screen (at one point too) push each other apart and move out of the
      // badges' way, a few rounds: a tap at a pin's middle opens its own popup.
      const at = items.map((item) => map.latLngToLayerPoint([item.lat, item.lon]));
      for (let round = 0, moved = 1; moved && round < 50; round++) {
        moved = 0;
        at.forEach((a, i) => {
          fixed.forEach((g) => {
            const away = a.subtract(g.point), gap = away.distanceTo([0, 0]), room = g.room || ROOM.badge;
            if (gap > room - 1) return;
            at[i] = a = g.point.add(gap ? away.multiplyBy(room / gap) : L.point(0, room));
            moved = 1;
          });
          at.forEach((b, j) => {
            if (j <= i) return;
            let away = b.subtract(a), gap = away.distanceTo([0, 0]);
            if (gap > ROOM.pin - 1) return;
            if (!gap) [away, gap] = [L.point(Math.cos(j), Math.sin(j)), 1]; // one point: a way each
            away = away.multiplyBy((ROOM.pin - gap) / gap / 2);
            at[i] = a = a.subtract(away);
            at[j] = b.add(away);
            moved = 1;
          });
        });
      }
      items.forEach((item, i) => {
        const p = map.layerPointToLatLng(at[i]);
        item.lat = p.lat;
        item.lon = p.lng;
      });
      return items;
    }
    // Markers on the map, by ad and drawn position: a redraw (the list refreshed after the map
    // moved, on a slow line seconds after the tap; a zoom) adds and removes only what changed,
    // so a popup the member opened stays open while its ad is still listed.
    const shown = new Map();
    let drawing = 0;
    function pinMarker(li, lat, lon) {
      const pin = document.createElement('span');
      pin.className = 'pin pin-' + li.dataset.layer + (li.dataset.own === '1' ? ' pin-own' : '');
      pin.appendChild(symbol(li.dataset.icon || li.dataset.layer));
      const marker = L.marker([lat, lon], {
        adId: li.dataset.id,
        icon: L.divIcon({html: pin, className: 'pin-icon', iconSize: [30, 30]}),
        title: li.querySelector('a').textContent.trim(), // an attribute: never parsed as HTML
        keyboard: false, // the "On the map" list is the keyboard's way to every marker
        bubblingMouseEvents: false, // opening a popup must not also move the avatar
      });
      marker.li = li;
      return marker.bindPopup(() => popup(marker.li));
    }
    function draw() {
      const run = ++drawing;
      const wanted = new Map(), found = groups(), pin = avatarPin();
      spread(all('li[data-id]', list).map((li) => ({li, lat: num(li.dataset.lat), lon: num(li.dataset.lon)})),
        pin ? [...found, {point: pin, room: ROOM.avatar}] : found) // the avatar (under them) shows
        .forEach((item) => wanted.set(item.li.dataset.id + '@' + round6(item.lat) + ',' + round6(item.lon), item));
      let opened = null;
      shown.forEach((marker, key) => {
        const item = wanted.get(key);
        if (item) {
          marker.li = item.li; // the popup reads the current line
          wanted.delete(key);
          return;
        }
        if (marker.isPopupOpen()) opened = marker.options.adId; // moved by a zoom: opened again below
        group.removeLayer(marker);
        shown.delete(key);
      });
      // New markers and the groups' badges go on in small batches, one task each: a hundred at
      // once would hold a phone's main thread for a noticeable moment.
      badges.clearLayers();
      const todo = [...found.map((g) => () => badge(g).addTo(badges)), ...Array.from(wanted, ([key, {li, lat, lon}]) => () => {
        const marker = pinMarker(li, lat, lon).addTo(group);
        shown.set(key, marker);
        if (li.dataset.id === opened) marker.openPopup();
      })];
      setTimeout(function batch() {
        if (run !== drawing) return; // a newer list took over
        todo.splice(0, MARKER_BATCH).forEach((add) => add());
        if (todo.length) setTimeout(batch, 0);
      }, 0);
    }
    // Zoomed out or crowded, the server sends counts per grid cell: a tap (or Enter) zooms in.
    function badge(g) {
      const count = document.createElement('span');
      count.className = 'cluster cluster-' + g.layer;
      count.textContent = g.count;
      const size = String(g.count).length > 2 ? 44 : 36;
      return L.marker(g.at, {
        icon: L.divIcon({html: count, className: 'cluster-icon', iconSize: [size, size]}),
        title: g.label, alt: g.label, keyboard: true, bubblingMouseEvents: false,
        zIndexOffset: -2e4, // under every pin: a pin's middle is its own to tap
      }).on('click', () => {
        // Always closer: the cells' own zoom, and at least two steps in.
        map.setView(g.at, Math.min(map.getMaxZoom(), Math.max(map.getBoundsZoom(g.cell), map.getZoom() + 2)));
      });
    }
    // The middle of the member's own pin (25 × 41 px above its point), if it is on the map.
    function avatarPin() {
      const lat = form ? num(form.elements.lat.value) : NaN, lon = form ? num(form.elements.lon.value) : NaN;
      return onGlobe(lat, lon) && map.latLngToLayerPoint([lat, lon]).subtract([0, 20]);
    }
    // The server's groups, as badges; two whose badges would touch at this zoom become one
    // (counts added, at their weighted centre, a tap zooms to both cells): a badge never hides
    // another, and each stays a target of its own (WCAG 2.5.8). The list keeps every group.
    function groups() {
      let found = all('li[data-cluster]', list).map((li) => {
        const link = li.querySelector('a');
        const box = new URL(link.href).searchParams; // the cell, as the no-JavaScript link asks for it
        const at = L.latLng(num(li.dataset.lat), num(li.dataset.lon));
        return {count: Number(li.dataset.cluster), layer: li.dataset.layer || 'offers', at,
          label: link.textContent.trim(), point: map.latLngToLayerPoint(at),
          cell: L.latLngBounds([num(box.get('south')), num(box.get('west'))], [num(box.get('north')), num(box.get('east'))])};
      });
      // The member's own pin is a target too: a badge that would cover it moves out, away
      // from the pin's middle, before each round of merging (two moved onto each other merge).
      const pin = avatarPin();
      for (let merged = true; merged;) {
        merged = false;
        if (pin) {
          found.forEach((g) => {
            const away = g.point.subtract(pin), gap = away.distanceTo([0, 0]);
            if (gap >= PIN_GAP) return;
            g.point = pin.add(gap ? away.multiplyBy(PIN_GAP / gap) : L.point(0, PIN_GAP));
            g.at = map.layerPointToLatLng(g.point);
          });
        }
        const kept = [];
        found.forEach((g) => {
          const near = kept.find((k) => k.point.distanceTo(g.point) < BADGE_GAP);
          if (!near) { kept.push(g); return; }
          merged = true;
          const total = near.count + g.count;
          near.at = L.latLng((near.at.lat * near.count + g.at.lat * g.count) / total, (near.at.lng * near.count + g.at.lng * g.count) / total);
          near.point = map.latLngToLayerPoint(near.at);
          if (g.count > near.count) near.layer = g.layer; // the larger group's colour
          near.label = data.groupLabel.replace(/\d+/, total); // "12 ads around here": a total is 2 or more
          near.cell = near.cell.extend(g.cell);
          near.count = total;
        });
        found = kept;
      }
      return found;
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
      list.addEventListener('htmx:afterSwap', draw);
      map.on('zoomend', draw); // markers sharing a point are spread in pixels
      let timer;
      map.on('moveend', () => { clearTimeout(timer); timer = setTimeout(refresh, 300); });
    }
    let avatar = null;
    // The mile, the avatar and the markers in a task after the one that set the view: the
    // tiles are asked for first, and no single task holds a phone's main thread for long.
    setTimeout(() => {
      L.circle(centre, {radius, color: GREEN, weight: 2, fillOpacity: 0.05})
        .bindTooltip(data.circleLabel, {sticky: true}).addTo(map);
      // Under the ads' pins, over the badges; a tap on the map moves it too.
      if (form) avatar = pickInto(map, form, here, {title: data.avatarLabel, alt: data.avatarLabel, zIndexOffset: -1e4});
      // What the page came with: the mile's box around the avatar, as the list below says (a
      // screen that shows more gets the rest with its first move; asking at once would cost
      // every visit a second request).
      if (list) setTimeout(draw, 0);
    }, 0);
    if (!form) return;

    // htmx refreshes the nearest panel on avatar-moved (hx-trigger="submit, avatar-moved").
    const moved = () => form.dispatchEvent(new CustomEvent('avatar-moved'));
    form.addEventListener('point-picked', moved);
    if (list) form.addEventListener('point-picked', draw); // pins and badges out of its way
    // Typed coordinates: send dots rather than commas, and bring the map along.
    form.addEventListener('htmx:configRequest', (e) => {
      const params = e.detail.parameters;
      const lat = num(params.lat), lon = num(params.lon);
      if (!onGlobe(lat, lon)) return; // the server falls back to its own point
      params.lat = lat;
      params.lon = lon;
      if (e.detail.triggeringEvent && e.detail.triggeringEvent.type === 'submit') {
        if (avatar) avatar([lat, lon]);
        map.panTo([lat, lon]);
      }
    });
    // The layers form answers with HX-Trigger: layers-changed, fired on it and bubbling up
    // (the form sits in the bottom sheet, apart from the map).
    body.addEventListener('layers-changed', () => { refresh(); moved(); });
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

  // After an action the page may open further down (#support, #finish): its message, at the
  // top, would be out of sight. It moves to the top of that section.
  const landed = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  const flashes = document.querySelector('.flashes');
  if (flashes && landed && /^(SECTION|DIV)$/.test(landed.tagName)) landed.prepend(flashes);

  // --- Local time (issue 14): a visitor's browser zone goes into the `tz` cookie, which dates
  // on pages for visitors follow; a member's zone is kept on their account (a member who never
  // chose one reports it, once a session), so their requests carry their session cookie alone.
  const zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    const cookie = 'tz=' + encodeURIComponent(zone);
    if (body.hasAttribute('data-tz-cookie') && !document.cookie.split('; ').includes(cookie)) {
      document.cookie = cookie + '; path=/; max-age=31536000; samesite=lax';
    }
    if (body.dataset.tzReport && sessionStorage.getItem('tz-reported') !== zone) {
      sessionStorage.setItem('tz-reported', zone);
      const token = JSON.parse(body.getAttribute('hx-headers') || '{}')['X-CSRFToken'];
      fetch(body.dataset.tzReport, {method: 'POST', headers: {'X-CSRFToken': token}, body: new URLSearchParams({timezone: zone})})
        .catch(() => {});
    }
  }

  // Live updates (.poller and the bell, [data-live]) pause while the page is hidden: a phone
  // in a pocket pays nothing. Shown again, they all ask at once ("visible-again").
  body.addEventListener('htmx:beforeRequest', (e) => {
    const elt = e.detail.elt;
    if (document.hidden && (elt.classList.contains('poller') || elt.hasAttribute('data-live'))) e.preventDefault();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && window.htmx) htmx.trigger(body, 'visible-again');
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
    // What waits in the outbox is read once the page has settled (IndexedDB is not the first
    // thing a page needs).
    (window.requestIdleCallback || setTimeout)(() => showWaiting().then(flush));
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
  // The main map starts in a task of its own once the page has been painted: the list beside
  // it is readable at once, and Leaflet measures a laid-out page instead of forcing a layout.
  const main = document.getElementById('map');
  if (main) requestAnimationFrame(() => setTimeout(() => mainMap(main), 0));
  all('[data-miles-map]').forEach(milesMap);
  all('[data-picker]').forEach(picker);
}());

/* Issue 15 — the map page on phones: the bottom sheet over the map, and the "my location"
   button (one file with the glue: a request less on the map page's first visit). Without JavaScript the sheet is a plain scrollable panel and the button stays
   hidden; the server renders everything the sheet shows (htmx swaps its blocks). */
(function () {
  'use strict';
  const STATES = ['peek', 'half', 'full'];
  const LABELS = {peek: 'labelPeek', half: 'labelFull', full: 'labelClose'};
  const sheet = document.getElementById('sheet');
  const handle = sheet && sheet.querySelector('.sheet-handle');

  if (handle) {
    const label = handle.querySelector('.visually-hidden');
    // The button says what pressing it does next; aria-expanded says whether the list is open.
    const set = (state) => {
      sheet.dataset.state = state;
      sheet.style.height = '';
      handle.setAttribute('aria-expanded', String(state !== 'peek'));
      label.textContent = handle.dataset[LABELS[state]];
    };
    handle.hidden = false;
    set('peek');

    let drag = null, dragged = false;
    handle.addEventListener('click', () => {
      if (dragged) { dragged = false; return; } // the end of a drag is not a press
      set(STATES[(STATES.indexOf(sheet.dataset.state) + 1) % STATES.length]);
    });
    // Drag (or swipe) the handle: the sheet follows the finger, then snaps to the nearest state.
    handle.addEventListener('pointerdown', (e) => {
      drag = {y: e.clientY, height: sheet.getBoundingClientRect().height};
      dragged = false;
      handle.setPointerCapture(e.pointerId);
    });
    handle.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const up = drag.y - e.clientY;
      if (!dragged && Math.abs(up) < 8) return;
      dragged = true;
      sheet.classList.add('dragging');
      sheet.style.height = Math.max(48, Math.min(window.innerHeight, drag.height + up)) + 'px';
    });
    const drop = () => {
      if (!drag) return;
      drag = null;
      if (!dragged) { sheet.classList.remove('dragging'); return; }
      const at = sheet.getBoundingClientRect().height;
      // Measure each state's height (no transition meanwhile) and keep the closest one.
      const heights = STATES.map((state) => {
        sheet.dataset.state = state;
        sheet.style.height = '';
        return sheet.getBoundingClientRect().height;
      });
      sheet.style.height = at + 'px';
      sheet.getBoundingClientRect(); // the transition starts from where the finger left it
      sheet.classList.remove('dragging');
      const nearest = heights.reduce((best, h, i) => (Math.abs(h - at) < Math.abs(heights[best] - at) ? i : best), 0);
      requestAnimationFrame(() => set(STATES[nearest]));
    };
    handle.addEventListener('pointerup', drop);
    handle.addEventListener('pointercancel', drop);
    // Escape folds the sheet back and returns to its handle.
    sheet.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && sheet.dataset.state !== 'peek') {
        set('peek');
        handle.focus();
      }
    });
  }

  // "My location": the browser's position becomes the point explored from (never saved).
  const locate = document.getElementById('locate');
  const form = document.getElementById('avatar-form');
  if (locate && form) {
    const status = document.getElementById('locate-status');
    let timer;
    const say = (text, busy) => {
      clearTimeout(timer);
      status.textContent = text;
      locate.classList.toggle('busy', Boolean(busy));
      locate.setAttribute('aria-busy', String(Boolean(busy)));
      if (text && !busy) timer = setTimeout(() => { status.textContent = ''; }, 10000);
    };
    locate.hidden = false;
    locate.addEventListener('click', () => {
      if (!navigator.geolocation) { say(locate.dataset.unavailable); return; }
      say(locate.dataset.locating, true);
      navigator.geolocation.getCurrentPosition((position) => {
        say('');
        const lat = Math.round(position.coords.latitude * 1e6) / 1e6;
        const lon = Math.round(position.coords.longitude * 1e6) / 1e6;
        form.elements.lat.value = lat;
        form.elements.lon.value = lon;
        // app.js moves the avatar and the map there; htmx asks for the nearest again.
        form.dispatchEvent(new CustomEvent('point-picked', {detail: {lat, lon, fly: true}}));
      }, (error) => {
        say(error.code === 1 ? locate.dataset.refused : locate.dataset.unavailable);
      }, {timeout: 15000, maximumAge: 60000});
    });
  }
}());
