// The dashboard: a client of the admin API (/_emulator/…), nothing more. Each page is
// { title, controls(params) → forms drawn once per visit, load(params) → data, view(data) →
// nodes }. The data part is redrawn when the journal or the event feed says something
// happened (both are NDJSON streams read with fetch), and only when the data changed, so a
// playing <video> or a half-filled form survives the updates.
'use strict';

const main = {
  title: document.getElementById('title'),
  message: document.getElementById('message'),
  controls: document.getElementById('controls'),
  data: document.getElementById('data'),
};
// Delivery history seen on the event feed since the page opened, by event id.
const history = new Map();
// Journal entries the reader opened, by seq: they stay open as new requests arrive.
const openRequests = new Set();
let drawn = '';

// ---- small helpers ---------------------------------------------------------------------

// An element; attributes starting with "on" are listeners, children are nodes or text.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

async function api(path, options = {}) {
  const init = { method: options.method || 'GET', headers: {} };
  if (options.body !== undefined) {
    init.body = options.body;
    init.headers['content-type'] = options.type || 'application/json';
  }
  const resp = await fetch('/_emulator/' + path, init);
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new Error((data && data.error) || resp.status + ' ' + resp.statusText);
  return data;
}

function say(text, ok) {
  main.message.hidden = !text;
  main.message.textContent = text || '';
  main.message.className = ok ? 'message ok' : 'message';
}

// Runs an action from a button or form, reports its failure, and redraws.
async function act(action, done) {
  try {
    await action();
    say(done || '', true);
  } catch (err) {
    say(err.message);
  }
  refresh(true);
}

// A button that asks once more before acting: the first click arms it for five seconds.
function confirmButton(label, action) {
  let armed = null;
  const button = h('button', {
    class: 'danger',
    onclick: () => {
      if (armed) {
        clearTimeout(armed);
        armed = null;
        button.textContent = label;
        act(action, label + ': done');
        return;
      }
      button.textContent = 'Really ' + label.toLowerCase() + '?';
      armed = setTimeout(() => { armed = null; button.textContent = label; }, 5000);
    },
  }, label);
  return button;
}

const time = (ms) => (ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
const json = (value) => JSON.stringify(value, null, 2);
// Media URLs name the public URL; the page plays them through its own origin.
const local = (url) => { try { return new URL(url).pathname; } catch { return ''; } };
const table = (head, rows) => h('table', {}, h('thead', {}, h('tr', {}, head.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
const cells = (values) => values.map((v) => h('td', {}, v));
const params = () => new URLSearchParams(location.hash.split('?')[1] || '');

// ---- pages -----------------------------------------------------------------------------

const snippets = (s) => ({
  'Shell (any SDK, unmodified)': 'eval "$(vod-emulator env)"\nvod-emulator exec -- python upload.py',
  Python: 'from qcloud_vod.vod_upload_client import VodUploadClient\n'
    + `client = VodUploadClient("${s.secretId}", "${s.secretKey}")  # run under vod-emulator exec`,
  'Node.js': "const VodUploadClient = require('vod-node-sdk').VodUploadClient;\n"
    + `const client = new VodUploadClient('${s.secretId}', '${s.secretKey}'); // under vod-emulator exec`,
  Go: `client := &vod.VodUploadClient{SecretId: "${s.secretId}", SecretKey: "${s.secretKey}"} // under vod-emulator exec`,
  Java: `VodUploadClient client = new VodUploadClient("${s.secretId}", "${s.secretKey}"); // under vod-emulator exec`,
  PHP: `$client = new VodUploadClient("${s.secretId}", "${s.secretKey}"); // under vod-emulator exec`,
  'Rust (vod-upload, vod-client)': `vod-emulator exec -- vod-upload video.mp4   # endpoint ${s.endpoint}`,
});

const pages = {
  overview: {
    title: 'Overview',
    async load() {
      const [settings, clock, media, uploads, events, faults, journal] = await Promise.all([
        api('settings'), api('clock'), api('media'), api('uploads'), api('events'),
        api('faults'), api('requests'),
      ]);
      return {
        settings, clock,
        counts: {
          'media files': media.media.length,
          'upload sessions open': uploads.sessions.length,
          'multipart uploads': uploads.multipart.length,
          events: events.events.length,
          'fault rules': faults.rules.length,
          'journaled requests': journal.requests.length,
        },
      };
    },
    view({ settings: s, clock, counts }) {
      return [
        h('dl', {}, [
          ['Endpoint', s.endpoint], ['AppId', s.appId], ['Region', s.region],
          ['SecretId', s.secretId], ['SecretKey', s.secretKey],
          ['Storage', s.dataDir ? s.dataDir + ' (--data-dir, durable)' : 'temporary, removed on exit'],
          ['Seed', s.seed],
          ['Emulator clock', time(clock.now_ms) + (clock.frozen ? ' (frozen)' : '')],
        ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
        h('h2', {}, 'Counts'),
        table(['What', 'How many'], Object.entries(counts).map(([k, v]) => h('tr', {}, cells([k, v])))),
        h('h2', {}, 'Use it'),
        Object.entries(snippets(s)).map(([lang, code]) => [h('h3', {}, lang), h('pre', {}, h('code', {}, code))]),
      ];
    },
  },

  media: {
    title: 'Media',
    async load() {
      return (await api('media')).media;
    },
    view(media) {
      if (!media.length) return h('p', { class: 'muted' }, 'No committed media yet: upload something.');
      return media.map((m) => {
        const b = m.basicInfo;
        const meta = m.metaData || {};
        const url = local(b.MediaUrl);
        return h('article', { class: 'media', 'data-file-id': m.fileId },
          h('h2', {}, b.Name || m.fileId, ' ', h('span', { class: 'muted' }, m.fileId)),
          b.CoverUrl ? h('img', { class: 'cover', src: local(b.CoverUrl), alt: 'cover' }) : null,
          table(['FileId', 'Type', 'Size', 'Duration', 'SubAppId', 'Storage region', 'SourceContext', 'Procedure', 'Created', 'Updated'], [
            h('tr', {}, cells([m.fileId, b.Type, meta.Size, meta.Duration, m.subAppId, b.StorageRegion,
              (b.SourceInfo || {}).SourceContext, m.procedure, b.CreateTime, b.UpdateTime])),
          ]),
          b.Type === 'mp4' || url.endsWith('.mp4')
            ? h('video', { controls: true, preload: 'auto', src: url })
            : null,
          url.endsWith('.m3u8') ? playlist(url) : null,
          h('details', { 'data-key': 'meta-' + m.fileId }, h('summary', {}, 'Metadata read at commit'), h('pre', {}, json(meta))),
          h('p', {}, h('a', { href: url }, b.MediaUrl), ' ',
            confirmButton('Delete', () => api('media/' + encodeURIComponent(m.fileId) + '?subAppId=' + m.subAppId, { method: 'DELETE' }))),
        );
      });
    },
  },

  uploads: {
    title: 'Uploads in progress',
    load: () => api('uploads'),
    view({ sessions, multipart }) {
      return [
        h('h2', {}, 'ApplyUpload sessions not committed'),
        table(['FileId', 'Type', 'Name', 'Bucket / key', 'Created', 'Expires', 'State'],
          sessions.map((s) => h('tr', { class: s.expired ? 'bad' : '', 'data-file-id': s.fileId }, cells([
            s.fileId, s.mediaType, s.mediaName, s.bucket + '/' + s.mediaKey,
            time(s.createdAt * 1000), time(s.expiresAt * 1000), s.expired ? 'expired' : 'open',
          ])))),
        h('h2', {}, 'Multipart uploads'),
        multipart.map((u) => [
          h('h3', {}, u.bucket + '/' + u.key, ' ', h('span', { class: 'muted' }, u.uploadId, ' since ', time(u.initiatedMs))),
          table(['Part', 'Size', 'ETag', 'CRC-64'], u.parts.map((p) => h('tr', {}, cells([p.partNumber, p.size, p.etag, p.crc64])))),
        ]),
      ];
    },
  },

  events: {
    title: 'Events',
    controls() {
      const fileId = h('input', { name: 'fileId', placeholder: 'FileId', required: true });
      return [
        h('form', {
          onsubmit: (e) => {
            e.preventDefault();
            act(() => api('events/trigger?type=NewFileUpload&fileId=' + encodeURIComponent(fileId.value), { method: 'POST' }), 'triggered');
          },
        }, h('label', {}, 'Trigger a NewFileUpload for', fileId), h('button', {}, 'Trigger')),
      ];
    },
    async load() {
      const [events, tasks] = await Promise.all([api('events'), api('tasks')]);
      return { events: events.events.reverse(), tasks: tasks.tasks, history: Object.fromEntries(history) };
    },
    view({ events, tasks, history: seen }) {
      return [
        tasks.length ? [h('h2', {}, 'Task flows running'),
          table(['TaskId', 'FileId', 'Procedure', ''], tasks.map((t) => h('tr', {}, cells([t.taskId, t.fileId, t.procedure,
            h('button', { onclick: () => act(() => api('tasks/' + encodeURIComponent(t.taskId) + '/finish', { method: 'POST' }), 'finished') }, 'Finish')]))))] : null,
        h('h2', {}, 'Events'),
        table(['Id', 'Type', 'FileId', 'Delivery', 'State', 'Attempts', 'Last error', 'Created', 'History', ''],
          events.map((e) => [
            h('tr', { class: ['failed', 'dropped'].includes(e.state) ? 'bad' : '', 'data-event-id': e.id }, cells([
              e.id, e.eventType, e.fileId, e.delivery, e.state, e.attempts, e.lastError, time(e.createdMs),
              h('ul', { class: 'history' }, (seen[e.id] || []).map((x) => h('li', {}, x))),
              h('button', { class: 'resend', onclick: () => act(() => api('events/' + e.id + '/resend', { method: 'POST' }), 'resent') }, 'Resend'),
            ])),
            h('tr', {}, h('td', { colspan: 10 }, h('details', { 'data-key': 'payload-' + e.id }, h('summary', {}, 'Payload'), h('pre', {}, json(e.content))))),
          ])),
      ];
    },
  },

  faults: {
    title: 'Faults',
    controls() {
      const field = (name, label, attrs) => h('label', {}, label, h('input', { name, ...attrs }));
      const select = (name, label, options) => h('label', {}, label, h('select', { name }, options.map((o) => h('option', {}, o))));
      const form = h('form', { id: 'fault-form', onsubmit: (e) => { e.preventDefault(); act(() => api('faults', { method: 'POST', body: JSON.stringify(ruleOf(form)) }), 'rule added'); } },
        field('id', 'Id', { placeholder: 'optional' }),
        select('service', 'Service', ['vod', 'cos', 'events', 'media']),
        field('action', 'Action', { placeholder: 'ApplyUpload', list: 'actions' }),
        select('effect', 'Effect', ['error', 'latency', 'reset', 'drop', 'expire_session', 'lose_write']),
        field('code', 'Error code', { placeholder: 'InternalError' }),
        field('ms', 'Latency ms', { type: 'number', min: 0 }),
        field('first', 'Only the first N', { type: 'number', min: 0 }),
        h('button', {}, 'Add rule'));
      const text = h('textarea', { placeholder: 'A rule, a list of rules or a scenario, in JSON or TOML (fixtures/faults/*.toml)' });
      const file = h('input', { type: 'file', accept: '.toml,.json', onchange: async () => { text.value = await file.files[0].text(); } });
      api('routes').then((r) => form.append(h('datalist', { id: 'actions' }, [...r.vod, ...r.cos, ...r.events, ...r.media].map((a) => h('option', { value: a })))));
      return [
        form,
        h('div', { class: 'row' }, h('label', {}, 'Load a scenario from fixtures/faults/', file)),
        text,
        h('div', { class: 'row' },
          h('button', { onclick: () => act(() => api('faults', { method: 'POST', body: text.value, type: 'text/plain' }), 'rules added') }, 'Add these rules'),
          confirmButton('Clear all rules', () => api('faults', { method: 'DELETE' }))),
      ];
    },
    load: async () => (await api('faults')).rules,
    view(rules) {
      return table(['Id', 'Match', 'Effect', 'Schedule', 'Matched', 'Hits', ''], rules.map((r) => h('tr', { 'data-rule': r.id }, cells([
        r.id, json(r.rule.match), json(r.rule.effect), r.rule.schedule ? json(r.rule.schedule) : 'always', r.matched,
        h('a', { href: '#journal?rule=' + encodeURIComponent(r.id) }, r.hits + ' in the journal'),
        h('button', { class: 'danger', onclick: () => act(() => api('faults/' + encodeURIComponent(r.id), { method: 'DELETE' }), 'removed') }, 'Remove'),
      ]))));
    },
  },

  journal: {
    title: 'Journal',
    controls(p) {
      const field = (name, placeholder) => h('label', {}, name, h('input', { name, placeholder, value: p.get(name) || '' }));
      const form = h('form', {
        onsubmit: (e) => {
          e.preventDefault();
          const q = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
          location.hash = 'journal' + (q.size ? '?' + q : '');
        },
      }, field('service', 'vod, cos, media'), field('action', 'ApplyUpload'), field('status', '400'),
      field('error_code', 'InternalError'), field('rule', 'rule id'), h('button', {}, 'Filter'));
      return form;
    },
    async load(p) {
      const q = new URLSearchParams(p);
      q.set('limit', '200');
      return (await api('requests?' + q)).requests.reverse();
    },
    view(entries) {
      return table(['#', 'Time', 'Service', 'Action', 'Status', 'Error', 'Latency', 'Fault', 'Signature', 'Unread'], entries.map((e) => {
        const cell = h('td', { colspan: 10 }, h('pre', {}, json(e)));
        const detail = h('tr', { hidden: !openRequests.has(e.seq), class: 'detail' }, cell);
        const fill = () => api('requests/' + e.seq).then((d) => cell.replaceChildren(...requestDetail(d)), (err) => say(err.message));
        if (openRequests.has(e.seq)) fill();
        const row = h('tr', {
          class: 'open' + ((e.status || 0) >= 400 || e.error_code ? ' bad' : ''), 'data-seq': e.seq,
          onclick: () => {
            detail.hidden = !detail.hidden;
            if (detail.hidden) {
              openRequests.delete(e.seq);
            } else {
              openRequests.add(e.seq);
              fill();
            }
          },
        }, cells([e.seq, time(e.time_ms), e.service, e.action || e.method + ' ' + e.path, e.status, e.error_code,
          e.latency_ms + ' ms', e.faults.join(', '), e.signature, e.unread.join(', ')]));
        return [row, detail];
      }));
    },
  },

  clock: {
    title: 'Clock and reset',
    controls() {
      const by = h('input', { name: 'advance', value: '1h', size: 8 });
      return [
        h('form', { onsubmit: (e) => { e.preventDefault(); act(() => api('clock', { method: 'POST', body: JSON.stringify({ advance: by.value }) }), 'clock moved'); } },
          h('label', {}, 'Advance by (500ms, 90s, 15m, 2h, 1d; negative goes back)', by), h('button', { id: 'advance' }, 'Advance')),
        h('div', { class: 'row' },
          h('button', { onclick: () => act(() => api('clock', { method: 'POST', body: '{"freeze":true}' }), 'frozen') }, 'Freeze'),
          h('button', { onclick: () => act(() => api('clock', { method: 'POST', body: '{"freeze":false}' }), 'running') }, 'Unfreeze')),
        h('h2', {}, 'Reset'),
        h('p', {}, 'Removes every media file, session, upload, event and journal entry; fault rules and the clock stay.'),
        confirmButton('Reset', () => api('reset', { method: 'POST' })),
      ];
    },
    load: () => api('clock'),
    view(clock) {
      return h('dl', {}, h('dt', {}, 'Emulator time'), h('dd', { id: 'now' }, time(clock.now_ms)),
        h('dt', {}, 'Offset from wall time'), h('dd', {}, clock.offset_ms + ' ms'),
        h('dt', {}, 'Frozen'), h('dd', {}, clock.frozen ? 'yes' : 'no'));
    },
  },
};

// A fault rule from the form's fields (empty fields left out).
function ruleOf(form) {
  const f = Object.fromEntries(new FormData(form));
  const effect = { type: f.effect };
  if (f.code) effect.code = f.code;
  if (f.ms) effect.ms = Number(f.ms);
  const rule = { match: { service: f.service }, effect };
  if (f.action) rule.match.action = f.action;
  if (f.id) rule.id = f.id;
  if (f.first) rule.schedule = { first: Number(f.first) };
  return rule;
}

// One request in full: headers both ways, the body preview, the journal entry.
function requestDetail({ entry, request, response }) {
  const headers = (list) => table(['Header', 'Value'], list.map(([k, v]) => h('tr', {}, cells([k, v]))));
  return [
    h('h3', {}, 'Request headers'), headers(request.headers),
    h('h3', {}, 'Request body'), h('pre', {}, request.bodyPreview === null ? '(not kept: streamed to storage)' : request.bodyPreview),
    h('h3', {}, 'Response ', entry.status === null ? '(connection reset)' : entry.status, entry.error_code ? ' ' + entry.error_code : ''), headers(response.headers),
    h('details', {}, h('summary', {}, 'Journal entry'), h('pre', {}, json(entry))),
  ];
}

// An HLS playlist and its segments, read from the media URL.
function playlist(url) {
  const list = h('pre', {}, 'loading ' + url);
  fetch(url).then((r) => r.text()).then((text) => {
    const segments = text.split('\n').filter((l) => l && !l.startsWith('#'));
    list.replaceChildren(text, h('ul', {}, segments.map((s) => h('li', {}, h('a', { href: new URL(s, location.origin + url).pathname }, s)))));
  }, (err) => list.replaceChildren('cannot read the playlist: ' + err.message));
  return h('details', { open: true }, h('summary', {}, 'HLS playlist'), list);
}

// ---- drawing and live updates ----------------------------------------------------------

function route() {
  const name = location.hash.slice(1).split('?')[0];
  return pages[name] ? name : 'overview';
}

function visit() {
  const name = route();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.getAttribute('href') === '#' + name);
  main.title.textContent = pages[name].title;
  document.title = pages[name].title + ' · vod-emulator';
  main.controls.replaceChildren(...[pages[name].controls ? pages[name].controls(params()) : []].flat(3));
  say('');
  drawn = '';
  refresh(true);
}

let timer = null;
// Redraws the current page's data, at most every 150 ms however busy the streams are.
function refresh(now) {
  clearTimeout(timer);
  timer = setTimeout(draw, now ? 0 : 150);
}

async function draw() {
  const name = route();
  try {
    const data = await pages[name].load(params());
    const key = name + location.hash + JSON.stringify(data);
    if (key === drawn || name !== route()) return;
    drawn = key;
    // A redraw keeps what the reader opened.
    const open = new Set([...main.data.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
    main.data.replaceChildren(...[pages[name].view(data)].flat(Infinity).filter((n) => n));
    for (const d of main.data.querySelectorAll('details[data-key]')) d.open = open.has(d.dataset.key);
  } catch (err) {
    say(err.message);
  }
}

// Reads an NDJSON stream of the admin API for as long as it lasts, then reconnects.
async function follow(path, onLine) {
  for (;;) {
    try {
      const resp = await fetch('/_emulator/' + path);
      document.getElementById('live').className = 'on';
      document.getElementById('live').textContent = 'live';
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (line) onLine(JSON.parse(line));
        }
      }
    } catch {
      // The emulator stopped or restarted: try again below.
    }
    document.getElementById('live').className = 'off';
    document.getElementById('live').textContent = 'disconnected';
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function noteEvent({ what, event, push }) {
  const seen = history.get(event.id) || [];
  const answer = push ? ', HTTP ' + (push.status === null ? 'no answer' : push.status) + ' in ' + push.latencyMs + ' ms' : '';
  const error = event.lastError && what !== 'delivered' ? ' (' + event.lastError + ')' : '';
  seen.push(new Date().toLocaleTimeString() + ' ' + what + ' via ' + event.delivery + ', try ' + event.attempts + answer + error);
  history.set(event.id, seen);
  refresh();
}

window.addEventListener('hashchange', visit);
visit();
follow('requests?follow=true&limit=0', () => refresh());
follow('events/stream', noteEvent);
