// hoist dashboard: renders the workloads and a rollout's record, acts through the
// dashboard's actions, and follows the server's change feed.
(function () {
  'use strict';
  var body = document.body;
  var root = body.dataset.root || './';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';
  var canAct = body.dataset.canAct === 'true';
  var $ = function (sel) { return document.querySelector(sel); };

  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] === undefined || attrs[k] === null || attrs[k] === false) continue;
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'className') e.className = attrs[k];
      else e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function flash(msg, isError) {
    var f = $('#flash');
    f.className = isError ? 'error' : '';
    f.textContent = msg;
  }

  function ago(t) {
    var s = Math.max(0, (Date.now() - new Date(t).getTime()) / 1000);
    if (s < 60) return Math.round(s) + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function when(t) { return new Date(t).toLocaleString(); }
  function shortDigest(d) {
    if (!d) return '';
    var i = d.indexOf(':');
    return d.slice(i + 1, i + 13);
  }
  // newer reports whether record a is newer than b: a later rollout, or the same one
  // further on (its phase written later).
  function newer(a, b) {
    if (!a || !b) return !!a;
    if (a.id !== b.id) return a.id > b.id;
    return Date.parse(a.phase_at || 0) > Date.parse(b.phase_at || 0);
  }
  function digestPart(image) { var i = String(image || '').indexOf('@'); return i < 0 ? '' : image.slice(i + 1); }
  function words(s) { return String(s || '').replace(/_/g, ' '); }
  // phaseText is a running rollout's state: its phase, and how many tasks run the
  // image it moves to (or goes back to) when the feed told (pr, in this phase).
  function phaseText(p, pr) {
    var n = pr && pr.want > 0 ? ' ' + pr.done + '/' + pr.want : '';
    return 'rolling out' + n + (p ? ' · ' + words(p) : '');
  }

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (res) {
      if (res.status === 401) { location.href = root + 'login'; throw new Error('logged out'); }
      return res.json().then(function (v) {
        if (!res.ok) throw new Error(v.detail || v.title || res.statusText);
        return v;
      });
    });
  }

  function post(action, payload) {
    return fetch(root + 'actions/' + action, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
      body: JSON.stringify(payload || {})
    }).then(function (res) {
      if (res.status === 401) { location.href = root + 'login'; throw new Error('logged out'); }
      return res.json().then(function (v) {
        if (!res.ok) throw new Error(v.detail || v.title || res.statusText);
        return v;
      });
    });
  }

  // Live feed: EventSource reconnects by itself; after each (re)connect the page
  // reads the whole state once.
  function live(onOpen, onChange) {
    var es, wait = 2000;
    function setLive(s) { body.dataset.live = s; var t = $('#live-text'); if (t) t.textContent = s === 'connected' ? 'live' : s; }
    function connect() {
      es = new EventSource(root + 'events');
      es.onopen = function () { wait = 2000; setLive('connected'); onOpen(); };
      es.onerror = function () {
        setLive('reconnecting');
        if (es.readyState === EventSource.CLOSED) {
          // The server refused the feed (the session ended, or too many are open): go
          // to the login form if needed, else try again, less often each time.
          getJSON(root + 'session').catch(function () {});
          setTimeout(connect, wait);
          wait = Math.min(wait * 2, 60000);
        }
      };
      es.addEventListener('change', function (e) {
        try { onChange(JSON.parse(e.data)); } catch (err) { /* a malformed event is ignored */ }
      });
    }
    connect();
  }

  // Confirmation dialog: resolves true on "yes"; focus returns to the opener, or to
  // what reopen finds when the live feed redrew the opener's row meanwhile.
  function confirmDialog(text, yesLabel, reopen) {
    var d = $('#confirm');
    var opener = document.activeElement;
    $('#confirm-text').textContent = text;
    $('#confirm-yes').textContent = yesLabel;
    d.returnValue = '';
    return new Promise(function (resolve) {
      d.addEventListener('close', function done() {
        d.removeEventListener('close', done);
        var back = opener && opener.isConnected ? opener : reopen && reopen();
        if (back && back.focus) back.focus();
        resolve(d.returnValue === 'yes');
      });
      d.showModal();
      $('#confirm-no').focus();
    });
  }

  // ---- workloads page ----
  var rows = {};     // key -> row from state
  var latest = {};   // key -> newest rollout record
  var progress = {}; // key -> {done, want, phase} of its running rollout
  var order = [];

  function stateOf(r) {
    var l = latest[r.key];
    if (l && l.outcome === 'running') return ['rolling-out', phaseText(l.phase, progress[r.key])];
    if (r.state === 'deferred' && r.not_before) return ['deferred', 'deferred until ' + when(r.not_before)];
    return [r.state, r.state_text];
  }

  function lastCell(key) {
    var td = el('td', { className: 'last', 'data-label': 'Last rollout' });
    var l = latest[key];
    if (!l) { td.textContent = '—'; return td; }
    var outcome = l.outcome === 'running' ? phaseText(l.phase, progress[key]) : words(l.outcome);
    td.appendChild(el('a', { className: 'rollout outcome-' + l.outcome, href: root + 'rollouts/' + l.id }, outcome));
    var t = l.ended || l.started;
    td.appendChild(el('span', { className: 'age', 'data-at': t, title: when(t) }, ' · ' + ago(t)));
    if (l.reason && l.outcome !== 'succeeded') td.appendChild(el('small', { text: l.reason }));
    return td;
  }

  function actionsCell(r, state) {
    var td = el('td', { className: 'actions', 'data-label': 'Actions' });
    if (!canAct) return td;
    if (state === 'awaiting-approval' && r.target_digest) {
      td.appendChild(el('button', { type: 'button', 'data-action': 'approve', 'data-digest': r.target_digest, title: 'Approve ' + r.target_digest }, 'Approve'));
    }
    if (r.has_previous && state !== 'rolling-out') {
      td.appendChild(el('button', { type: 'button', className: 'quiet', 'data-action': 'rollback' }, 'Roll back'));
    }
    if (r.quarantined > 0) {
      td.appendChild(el('button', { type: 'button', className: 'quiet', 'data-action': 'retry', title: 'Clear the quarantine and check again' }, 'Retry'));
    }
    return td;
  }

  function digestCell(cls, label, digest, text) {
    var td = el('td', { className: cls, 'data-label': label });
    if (!digest) { td.textContent = text || '—'; return td; }
    td.title = digest;
    td.dataset.digest = digest;
    td.appendChild(el('button', { type: 'button', className: 'digest quiet', 'aria-label': 'Copy ' + digest }, text || shortDigest(digest)));
    return td;
  }

  function renderRow(r) {
    var st = stateOf(r);
    var tr = el('tr', { 'data-workload': r.key, 'data-state': st[0], 'data-policy': r.policy || '' });
    tr.appendChild(el('td', { className: 'name', 'data-label': 'Workload' }, r.key));
    tr.appendChild(el('td', { className: 'policy', 'data-label': 'Policy' }, r.policy || '—'));
    tr.appendChild(el('td', { className: 'image', 'data-label': 'Image', title: r.image }, r.image.split('@')[0]));
    var cur = r.current, tgtImage = r.target, tgt = r.target_digest;
    var l = latest[r.key];
    if (st[0] === 'rolling-out' && l) {
      // The spec already names where the rollout goes: show what it moves from and to
      // (back to, while it rolls back) rather than the spec's digest twice.
      var back = l.phase === 'rolling_back';
      tgtImage = back ? l.from : l.to;
      tgt = digestPart(tgtImage);
      cur = digestPart(back ? l.to : l.from) || cur;
    }
    tr.appendChild(digestCell('current', 'Current', cur));
    tgt = tgt && tgt !== cur ? tgt : '';
    tr.appendChild(digestCell('target', 'Target', tgt, tgt ? tgtImage.split('@')[0].split('/').pop() + ' @ ' + shortDigest(tgt) : '—'));
    var state = el('td', { className: 'state', 'data-label': 'State' }, el('span', { className: 'badge' }, st[1]));
    if (r.reason && st[0] !== 'up-to-date' && st[0] !== 'rolling-out') state.appendChild(el('small', { text: r.reason }));
    if (r.compose) state.appendChild(el('small', { className: 'compose', text: r.compose }));
    if (r.signed_by) state.appendChild(el('small', { className: 'signed', text: 'signed by ' + r.signed_by.join(', ') }));
    tr.appendChild(state);
    tr.appendChild(lastCell(r.key));
    tr.appendChild(actionsCell(r, st[0]));
    return tr;
  }

  // swap puts tr in old's place unless they are the same (a click on old is not
  // lost); focus on one of old's buttons moves to the same button of tr.
  function swap(old, tr) {
    tr.hidden = old.hidden;
    if (tr.outerHTML === old.outerHTML) return;
    var focused = old.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    old.replaceWith(tr);
    if (focused) { var b = tr.querySelector('[data-action="' + focused + '"]'); if (b) b.focus(); }
  }

  function replaceRow(key) {
    var old = document.querySelector('tr[data-workload="' + CSS.escape(key) + '"]');
    if (!old || !rows[key]) return;
    swap(old, renderRow(rows[key]));
    applyFilter();
  }

  function renderAll() {
    var tbody = $('#workloads tbody');
    var before = {};
    tbody.querySelectorAll('tr[data-workload]').forEach(function (tr) { before[tr.dataset.workload] = tr; });
    tbody.querySelectorAll('tr.empty').forEach(function (tr) { tr.remove(); });
    order.forEach(function (k) {
      // Rows are changed in place, and only those that changed.
      var tr = renderRow(rows[k]), old = before[k];
      delete before[k];
      if (old) swap(old, tr); else tbody.appendChild(tr);
    });
    Object.keys(before).forEach(function (k) { before[k].remove(); });
    if (!order.length) tbody.appendChild(el('tr', { className: 'empty' }, el('td', { colspan: '8' }, 'No workloads.')));
    var sel = $('#filter-policy');
    var policies = {};
    order.forEach(function (k) { if (rows[k].policy) policies[rows[k].policy] = true; });
    var names = Object.keys(policies).sort();
    if (sel.dataset.names !== names.join('\n')) { // rebuilt only when the policies changed
      var cur = sel.value;
      sel.dataset.names = names.join('\n');
      sel.replaceChildren(el('option', { value: '' }, 'any'));
      names.forEach(function (p) { sel.appendChild(el('option', { value: p }, p)); });
      sel.value = policies[cur] ? cur : '';
    }
    applyFilter();
  }

  function applyFilter() {
    var name = $('#filter-name').value.trim().toLowerCase();
    var state = $('#filter-state').value;
    var policy = $('#filter-policy').value;
    var shown = 0, all = 0;
    document.querySelectorAll('#workloads tbody tr[data-workload]').forEach(function (tr) {
      all++;
      var ok = (!name || tr.dataset.workload.toLowerCase().indexOf(name) >= 0) &&
        (!state || (state === 'governed' ? tr.dataset.state !== 'no-policy' : tr.dataset.state === state)) && (!policy || tr.dataset.policy === policy);
      tr.hidden = !ok;
      if (ok) shown++;
    });
    $('#count').textContent = shown === all ? all + ' workloads' : shown + ' of ' + all + ' workloads';
  }

  var loading = false, again = false, timer = null, loadedAt = 0, retryIn = 0;
  // The state costs a registry check: read it on load, on (re)connecting, after a
  // rollout ended, and at most every few minutes while the page is looked at.
  var staleAfter = 5 * 60 * 1000;
  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    loadedAt = Date.now();
    getJSON(root + 'state').then(function (s) {
      if (retryIn) { retryIn = 0; flash(''); } // the error below is over
      var seen = latest;
      rows = {}; latest = {}; order = [];
      s.workloads.forEach(function (r) { rows[r.key] = r; order.push(r.key); });
      // The state may be a little older than what the feed told meanwhile: keep the
      // newer record.
      s.rollouts.forEach(function (r) { latest[r.workload] = newer(seen[r.workload], r) ? seen[r.workload] : r; });
      // A workload's first rollout, told by the feed after the state was read, is not
      // in it at all.
      Object.keys(seen).forEach(function (k) { if (!latest[k] && rows[k]) latest[k] = seen[k]; });
      canAct = canAct && s.can_act;
      renderAll();
    }).catch(function (e) {
      // A network that changed under the browser fails a read too: read again, ever
      // less often (1 s, 2 s, … 30 s), rather than show a stale state.
      retryIn = Math.min(retryIn ? retryIn * 2 : 1000, 30000);
      flash('Could not read the state: ' + e.message + '; trying again in ' + retryIn / 1000 + ' s', true);
      refreshSoon(retryIn);
    })
      .then(function () { loading = false; if (again) { again = false; refresh(); } });
  }
  function refreshSoon(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }

  function onWorkloadChange(c) {
    if (c.kind === 'progress' && c.progress) {
      progress[c.workload] = { done: c.progress.done, want: c.progress.want };
      replaceRow(c.workload);
      return;
    }
    if (c.kind === 'rollout' && c.rollout) {
      var r = c.rollout, prev = latest[r.workload];
      if (!newer(prev, r)) {
        if (!prev || prev.id !== r.id || prev.phase !== r.phase) delete progress[r.workload]; // counted for another phase
        latest[r.workload] = r;
      }
      replaceRow(r.workload);
      if (r.outcome !== 'running') refreshSoon(300);
      return;
    }
    refreshSoon(300);
  }

  var confirmText = {
    approve: function (key, btn) { return 'Approve ' + btn.dataset.digest + ' for ' + key + '? It rolls out ' + (rows[key] ? rows[key].target : '') + '.'; },
    rollback: function (key) { return 'Roll ' + key + ' back to its previous image? The digest it runs now is quarantined.'; }
  };
  var busyText = { approve: 'Approving', rollback: 'Rolling back', retry: 'Clearing the quarantine of' };

  function onRowClick(e) {
    var btn = e.target.closest('button');
    if (!btn) return;
    var tr = btn.closest('tr');
    if (btn.classList.contains('digest')) {
      var d = btn.parentNode.dataset.digest;
      if (navigator.clipboard) navigator.clipboard.writeText(d).then(function () { flash('Copied ' + d); }, function () { flash(d); });
      else flash(d);
      return;
    }
    var action = btn.dataset.action;
    if (!action || !tr) return;
    var key = tr.dataset.workload;
    var payload = { workload: key };
    if (action === 'approve') payload.digest = btn.dataset.digest;
    var find = function () {
      return document.querySelector('tr[data-workload="' + CSS.escape(key) + '"] [data-action="' + action + '"]');
    };
    var ask = confirmText[action] ? confirmDialog(confirmText[action](key, btn), btn.textContent, find) : Promise.resolve(true);
    ask.then(function (yes) {
      if (!yes) return;
      if (!btn.isConnected) btn = find() || btn;
      btn.disabled = true;
      flash(busyText[action] + ' ' + key + '…');
      post(action, payload).then(function (v) { flash(v.message); }, function (err) { flash(err.message, true); })
        .then(function () { btn.disabled = false; refreshSoon(200); });
    });
  }

  function workloadsPage() {
    $('#workloads').addEventListener('click', onRowClick);
    ['#filter-name', '#filter-state', '#filter-policy'].forEach(function (s) {
      $(s).addEventListener('input', applyFilter);
      $(s).addEventListener('change', applyFilter);
    });
    $('#filters').addEventListener('submit', function (e) { e.preventDefault(); });
    var check = $('#check-now');
    if (check) check.addEventListener('click', function () {
      check.disabled = true;
      flash('Checking every workload…');
      post('check', {}).then(function (v) { flash(v.message); }, function (err) { flash(err.message, true); })
        .then(function () { check.disabled = false; refreshSoon(0); });
    });
    setInterval(function () {
      document.querySelectorAll('.age[data-at]').forEach(function (s) { s.textContent = ' · ' + ago(s.dataset.at); });
      if (document.visibilityState === 'visible' && Date.now() - loadedAt > staleAfter) refresh();
    }, 30000);
    live(function () { refreshSoon(0); }, onWorkloadChange);
  }

  // ---- rollout page ----
  function rolloutPage() {
    var id = Number(body.dataset.rollout);
    var url = root + 'rollouts/' + id + '.json';
    var t = null;
    function load() {
      getJSON(url).then(function (r) {
        $('#rollout-workload').textContent = r.workload;
        var out = $('#rollout-outcome');
        out.textContent = r.outcome === 'running' ? phaseText(r.phase) : words(r.outcome);
        out.className = 'outcome-' + r.outcome;
        $('#rollout-trigger').textContent = r.trigger;
        $('#rollout-from').textContent = r.from;
        $('#rollout-to').textContent = r.to;
        $('#rollout-reason').textContent = r.reason || '—';
        $('#rollout-order').textContent = r.order || '—';
        $('#rollout-gate').textContent = r.gate || '—';
        $('#rollout-logs').textContent = r.logs || 'No task or container events were recorded for this rollout.';
        var ol = $('#timeline');
        ol.replaceChildren();
        r.timeline.forEach(function (m) {
          var label = m.phase === 'ended' ? 'ended · ' + words(r.outcome) : words(m.phase);
          var li = el('li', { 'data-phase': m.phase, 'data-outcome': m.phase === 'ended' ? r.outcome : null }, label, el('time', { datetime: m.at, title: m.at }, when(m.at)));
          if (m.note) li.appendChild(el('small', { className: 'note', text: m.note }));
          ol.appendChild(li);
        });
        document.title = 'hoist · rollout ' + id + ' · ' + r.workload;
      }).catch(function (e) { flash('Could not read rollout ' + id + ': ' + e.message, true); });
    }
    live(load, function (c) {
      if (c.kind === 'resync' || (c.rollout && c.rollout.id === id)) { clearTimeout(t); t = setTimeout(load, 100); }
    });
  }

  if (body.dataset.page === 'workloads') workloadsPage();
  if (body.dataset.page === 'rollout') rolloutPage();
})();
