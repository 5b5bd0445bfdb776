// Place comboboxes (templates/gazetteer/_picker.html): htmx fills the listbox as one types;
// this file makes it a WAI-ARIA combobox (arrows, Enter, Escape, click) and puts the chosen
// place's id in the form. Without it the field is a plain text input the server resolves.
(function () {
  'use strict';

  function setup(box) {
    const input = box.querySelector('[role="combobox"]');
    const list = box.querySelector('[role="listbox"]');
    const hidden = box.querySelector('input[data-place-id]');
    const status = box.querySelector('[data-place-status]');
    const form = input.form;
    let active = -1;

    const options = () => Array.from(list.querySelectorAll('[role="option"]'));
    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }
    function highlight(index) {
      const all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach((option, i) => option.setAttribute('aria-selected', i === active ? 'true' : 'false'));
      input.setAttribute('aria-activedescendant', all[active].id);
      all[active].scrollIntoView({block: 'nearest'});
    }
    function pick(option) {
      input.value = option.dataset.name;
      if (hidden) hidden.value = option.dataset.placeId;
      close();
      status.textContent = option.textContent.replace(/\s+/g, ' ').trim();
      const name = form && form.elements.name;
      if (name && name.type === 'text' && !name.value) name.value = option.dataset.name;
      if (box.hasAttribute('data-submit-on-pick') && form) {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    }

    list.addEventListener('htmx:afterSwap', () => {
      const count = options().length;
      list.hidden = count === 0;
      input.setAttribute('aria-expanded', count ? 'true' : 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
      status.textContent = count ? box.dataset.some.replace('{n}', count) : (input.value.trim().length > 1 ? box.dataset.none : '');
    });
    input.addEventListener('input', () => { if (hidden) hidden.value = ''; });
    input.addEventListener('keydown', (e) => {
      const open = !list.hidden;
      if (e.key === 'ArrowDown' && options().length) { e.preventDefault(); list.hidden = false; input.setAttribute('aria-expanded', 'true'); highlight(active + 1); }
      else if (e.key === 'ArrowUp' && open) { e.preventDefault(); highlight(active - 1); }
      else if (e.key === 'Enter' && open && active >= 0) { e.preventDefault(); pick(options()[active]); }
      else if (e.key === 'Escape' && open) { e.preventDefault(); close(); }
    });
    input.addEventListener('blur', () => setTimeout(close, 150));
    list.addEventListener('mousedown', (e) => e.preventDefault()); // keep the focus in the input
    list.addEventListener('click', (e) => {
      const option = e.target.closest('[role="option"]');
      if (option) pick(option);
    });
    // A point picked on the map afterwards wins over the place typed before.
    if (form) form.addEventListener('point-picked', () => { if (hidden) hidden.value = ''; input.value = ''; });
  }

  document.querySelectorAll('[data-place-search]').forEach(setup);
}());
