// riskzone public map: every element with class "rz-map" becomes a MapLibre
// map of the public risk zones. Attributes:
//   data-style  the service's public MapLibre style (/styles/public.json)
//   data-zones  GeoJSON of the public zones, drawn when the style has no
//               zone layer of its own (/api/v1/public/zones?county=ID)
//   data-bbox   minLon,minLat,maxLon,maxLat to show
//   data-lang   zh-CN or en (popup texts)
// Thin on purpose: the pages around the map carry the text.
(function () {
  'use strict';
  var COLORS = { high: '#b3261e', medium: '#b35c00', low: '#2e7d32' };
  var maps = [];
  window.rzMaps = maps;

  function fallbackStyle() {
    return {
      version: 8,
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } }]
    };
  }

  function hasZoneLayer(map) {
    var layers = (map.getStyle() && map.getStyle().layers) || [];
    return layers.some(function (l) { return /zone/i.test(l.id) && (l.type === 'fill' || l.type === 'fill-extrusion'); });
  }

  function color(level) {
    return ['match', ['get', 'level'], 'high', COLORS.high, 'medium', COLORS.medium, COLORS.low];
  }

  function addZones(map, url) {
    map.addSource('rz-zones', { type: 'geojson', data: url });
    map.addLayer({ id: 'rz-zones-fill', type: 'fill', source: 'rz-zones',
      paint: { 'fill-color': color(), 'fill-opacity': 0.45 } });
    map.addLayer({ id: 'rz-zones-line', type: 'line', source: 'rz-zones',
      paint: { 'line-color': color(), 'line-width': 1.5 } });
  }

  function popup(map, el, e) {
    var f = e.features && e.features[0];
    if (!f) return;
    var p = f.properties || {};
    var en = el.getAttribute('data-lang') === 'en';
    var box = document.createElement('div');
    var a = document.createElement('a');
    a.href = '/zones/' + encodeURIComponent(p.zone_id) + (en ? '?lang=en' : '');
    a.target = el.getAttribute('data-target') || '_top';
    a.textContent = (en ? (p.level_en || p.level) : (p.level_zh || p.level)) + ' ' + (p.name || '');
    box.appendChild(a);
    if (p.earliest_lifting) {
      var d = document.createElement('div');
      d.textContent = (en ? 'Earliest lifting: ' : '最早解除日期：') + p.earliest_lifting;
      box.appendChild(d);
    }
    new window.maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(box).addTo(map);
  }

  function start(el, style) {
    var b = (el.getAttribute('data-bbox') || '').split(',').map(Number);
    var opts = { container: el, style: style || fallbackStyle(), attributionControl: { compact: true },
      canvasContextAttributes: { preserveDrawingBuffer: true }, cooperativeGestures: el.hasAttribute('data-cooperative') };
    if (b.length === 4 && b.every(isFinite)) {
      opts.bounds = [[b[0], b[1]], [b[2], b[3]]];
      opts.fitBoundsOptions = { padding: 16 };
    }
    var map = new window.maplibregl.Map(opts);
    maps.push(map);
    map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }));
    map.on('load', function () {
      var zones = el.getAttribute('data-zones');
      if (!hasZoneLayer(map) && zones) addZones(map, zones);
      var clickable = (map.getStyle().layers || []).filter(function (l) { return /zone/i.test(l.id) && l.type === 'fill'; })
        .map(function (l) { return l.id; });
      clickable.forEach(function (id) {
        map.on('click', id, function (e) { popup(map, el, e); });
        map.on('mouseenter', id, function () { map.getCanvas().style.cursor = 'pointer'; });
        map.on('mouseleave', id, function () { map.getCanvas().style.cursor = ''; });
      });
      map.once('idle', function () { el.setAttribute('data-ready', 'true'); });
    });
    map.on('error', function (e) { el.setAttribute('data-error', String((e && e.error && e.error.message) || e)); });
  }

  function init(el) {
    if (!window.maplibregl) {
      el.setAttribute('data-error', 'maplibre-gl is not loaded');
      return;
    }
    el.classList.add('rz-map-live');
    var styleURL = el.getAttribute('data-style');
    if (!styleURL || !window.fetch) { start(el, null); return; }
    fetch(styleURL, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (style) { start(el, style); });
  }

  var els = document.querySelectorAll('.rz-map');
  for (var i = 0; i < els.length; i++) init(els[i]);
})();
