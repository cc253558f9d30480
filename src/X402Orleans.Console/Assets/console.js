// X402Orleans operator console: keeps the overview live. Polls /console/api/overview every 5 s and updates the numbers, the
// controls' state and the calls chart (in the server's drawing's geometry). No inline script: CSP default-src 'self'.
(function () {
  'use strict';
  var chart = document.getElementById('calls-chart');
  if (!chart) { return; }
  // The plot area and the span are the server's drawing (Chart.cs): the script only moves the lines and the peak labels.
  var frame = chart.querySelector('.chart-frame');
  var LEFT = Number(frame.getAttribute('x')), TOP = Number(frame.getAttribute('y'));
  var RIGHT = LEFT + Number(frame.getAttribute('width')), BOTTOM = TOP + Number(frame.getAttribute('height'));
  var SPAN_MS = Number(chart.getAttribute('data-span-ms')), BUCKET_SECONDS = Number(chart.getAttribute('data-bucket-seconds'));

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  // A control's state badge, and only the form that changes it: the "stop" form while active, the "resume" form otherwise.
  function showState(id, state, stopForm, resumeForm) {
    var badge = document.getElementById(id);
    if (!badge || badge.textContent === state) { return; }
    badge.textContent = state;
    badge.className = 'badge ' + state;
    var stop = document.getElementById(stopForm), resume = document.getElementById(resumeForm);
    if (stop) { stop.hidden = state !== 'active'; }
    if (resume) { resume.hidden = state === 'active'; }
  }

  // Chart.Number: at most two decimals.
  function number(v) { return String(Math.round(v * 100) / 100); }

  // Chart.Peak and Chart.Points: only the points inside the window, oldest first; y from zero (bottom) to the peak (top).
  function plot(series, now, value) {
    var from = now - SPAN_MS;
    var inside = series
      .filter(function (p) { var t = Date.parse(p.start); return t >= from && t <= now; })
      .sort(function (a, b) { return Date.parse(a.start) - Date.parse(b.start); });
    var peak = 0;
    inside.forEach(function (p) { peak = Math.max(peak, value(p)); });
    var scale = peak > 0 ? peak : 1;
    var points = inside.map(function (p) {
      var x = LEFT + (Date.parse(p.start) - from) / SPAN_MS * (RIGHT - LEFT);
      var y = BOTTOM - value(p) / scale * (BOTTOM - TOP);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    return { points: points.join(' '), peak: peak };
  }

  function draw(series, now, value, cls, unit) {
    var drawn = plot(series, now, value);
    chart.querySelector('polyline.' + cls).setAttribute('points', drawn.points);
    chart.querySelector('text.' + cls + '-peak').textContent = number(drawn.peak) + unit;
  }

  function redraw(data) {
    var now = Date.parse(data.now) || Date.now();
    draw(data.series, now, function (p) { return p.calls / BUCKET_SECONDS; }, 'chart-calls', '/s');
    draw(data.series, now, function (p) { return p.p50_ms || 0; }, 'chart-p50', ' ms');
    chart.setAttribute('data-updated', new Date().toISOString());
  }

  function update(data) {
    setText('active-sessions', data.active_sessions === null ? '?' : String(data.active_sessions));
    setText('calls-per-second', Number(data.calls_per_second).toFixed(2));
    setText('p50-ms', data.p50_ms === null ? '\u2013' : String(Math.round(data.p50_ms * 100) / 100));
    if (data.controls_known) {
      showState('payments-state', data.payments_paused ? 'paused' : 'active', 'pause-payments', 'resume-payments');
      showState('calls-state', data.calls_stopped ? 'stopped' : 'active', 'stop-calls', 'resume-calls');
    }
    redraw(data);
  }

  function poll() {
    fetch('/console/api/overview', { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) { window.location.assign('/console/signin'); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { /* the next poll tries again */ });
  }

  poll();
  window.setInterval(poll, 5000);
})();
