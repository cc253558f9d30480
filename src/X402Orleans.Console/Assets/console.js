// X402Orleans operator console: keeps the overview live. Polls /console/api/overview every 5 s and updates the numbers, the
// controls' state and the calls chart (same geometry as the server's first drawing). No inline script: CSP default-src 'self'.
(function () {
  'use strict';
  var chart = document.getElementById('calls-chart');
  if (!chart) { return; }
  var SVG = 'http://www.w3.org/2000/svg';
  var WIDTH = 720, HEIGHT = 180, SPAN_MS = 15 * 60 * 1000;

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  function points(series, now, value) {
    var from = now - SPAN_MS;
    var max = 0;
    series.forEach(function (p) { max = Math.max(max, value(p)); });
    var scale = max > 0 ? max : 1;
    return series
      .filter(function (p) { return Date.parse(p.start) >= from; })
      .map(function (p) {
        var x = (Date.parse(p.start) - from) / SPAN_MS * WIDTH;
        var y = HEIGHT - (value(p) / scale * (HEIGHT - 10)) - 5;
        return x.toFixed(1) + ',' + y.toFixed(1);
      })
      .join(' ');
  }

  function line(cls, stroke, width, pts) {
    var el = document.createElementNS(SVG, 'polyline');
    el.setAttribute('class', cls);
    el.setAttribute('fill', 'none');
    el.setAttribute('stroke', stroke);
    el.setAttribute('stroke-width', width);
    el.setAttribute('points', pts);
    return el;
  }

  function redraw(data) {
    var now = Date.parse(data.now) || Date.now();
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    var frame = document.createElementNS(SVG, 'rect');
    frame.setAttribute('class', 'chart-frame');
    frame.setAttribute('x', '0'); frame.setAttribute('y', '0');
    frame.setAttribute('width', String(WIDTH)); frame.setAttribute('height', String(HEIGHT));
    frame.setAttribute('fill', 'none'); frame.setAttribute('stroke', '#ccc');
    chart.appendChild(frame);
    chart.appendChild(line('chart-calls', '#1f6feb', '2', points(data.series, now, function (p) { return p.calls / 10; })));
    chart.appendChild(line('chart-p50', '#d29922', '1.5', points(data.series, now, function (p) { return p.p50_ms || 0; })));
    chart.setAttribute('data-updated', new Date().toISOString());
  }

  function update(data) {
    setText('active-sessions', data.active_sessions === null ? '?' : String(data.active_sessions));
    setText('calls-per-second', Number(data.calls_per_second).toFixed(2));
    setText('p50-ms', data.p50_ms === null ? '\u2013' : String(Math.round(data.p50_ms * 100) / 100));
    if (data.controls_known) {
      setText('payments-state', data.payments_paused ? 'paused' : 'active');
      setText('calls-state', data.calls_stopped ? 'stopped' : 'active');
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
