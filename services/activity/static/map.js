// The catalogue map: Leaflet over the list of the same activities. Without this script, or
// Leaflet, or the tiles, the page is the list; the map only adds to it.
(function () {
  "use strict";
  var box = document.getElementById("map");
  var note = document.getElementById("map-note");
  if (!box || !window.L) return;

  function say(text) {
    note.textContent = text;
    note.hidden = false;
  }

  box.hidden = false;
  var map = window.L.map(box, { scrollWheelZoom: false }).setView([54.0, -2.0], 5);
  var tiles = window.L.tileLayer(box.dataset.tiles, {
    attribution: box.dataset.attribution,
    maxZoom: 19,
  });
  var failed = false;
  tiles.on("tileerror", function () {
    if (failed) return;
    failed = true;
    say("The map's background could not be loaded; the list below shows the same activities.");
  });
  tiles.addTo(map);

  function popup(feature) {
    // Built from nodes, not HTML: titles and places are the organisers' text.
    var wrap = document.createElement("div");
    var link = document.createElement("a");
    link.href = feature.properties.url;
    link.textContent = feature.properties.title;
    wrap.appendChild(link);
    [feature.properties.when, feature.properties.place].forEach(function (line) {
      if (!line) return;
      var p = document.createElement("p");
      p.textContent = line;
      wrap.appendChild(p);
    });
    return wrap;
  }

  fetch(box.dataset.geojson, { headers: { Accept: "application/geo+json" } })
    .then(function (answer) {
      if (!answer.ok) throw new Error(String(answer.status));
      return answer.json();
    })
    .then(function (collection) {
      var layer = window.L.geoJSON(collection, {
        pointToLayer: function (feature, point) {
          return window.L.circleMarker(point, { radius: 8, weight: 2, color: "#1f5f99", fillOpacity: 0.7 });
        },
        onEachFeature: function (feature, marker) {
          marker.bindPopup(popup(feature));
        },
      }).addTo(map);
      if (collection.features.length) {
        map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [20, 20] });
      }
    })
    .catch(function () {
      say("The map could not show the activities; the list below has them all.");
    });
})();
