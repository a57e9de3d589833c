/* evalkit report: sorts tables and pages, filters and sorts the segment explorer.
 * Every text from the results is written with textContent or createTextNode: no HTML is ever
 * parsed from data. The page's Content-Security-Policy pins this file by its SHA-256 hash. */
(function () {
  "use strict";

  var forEach = Array.prototype.forEach;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(x) {
    return x === null || x === undefined ? "\u2014" : x.toFixed(2);
  }

  /* As render/_cells.fmt_signed: a difference that rounds to zero is 0.00, never -0.00. */
  function signed(x) {
    var t = x.toFixed(2);
    return Number(t) === 0 ? (0).toFixed(2) : (x > 0 ? "+" : "") + t;
  }

  /* ---------- sortable tables (server-rendered; this only reorders rows) ---------- */

  function cellKey(cell, type) {
    if (!cell) return null;
    var v = cell.getAttribute("data-sort");
    if (v === null) v = cell.textContent.trim();
    if (type === "num") {
      if (v === "") return null;
      var x = parseFloat(v);
      return isNaN(x) ? null : x;
    }
    return v;
  }

  function compareKeys(a, b, type) {
    if (type === "num") return a < b ? -1 : a > b ? 1 : 0;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortTable(table, th, col) {
    var type = th.getAttribute("data-type");
    var state = th.getAttribute("aria-sort");
    var dir;
    if (state === "ascending") dir = -1;
    else if (state === "descending") dir = 1;
    else dir = th.getAttribute("data-first") === "desc" ? -1 : 1;
    forEach.call(table.tHead.rows[0].cells, function (h) {
      if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, i) {
      return { row: row, key: cellKey(row.cells[col], type), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.i - b.i;
        return a.key === null ? 1 : -1; /* missing values last, whatever the direction */
      }
      return dir * compareKeys(a.key, b.key, type) || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  function initSortable(table) {
    forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (!th.hasAttribute("data-type")) return;
      th.classList.add("sort-col");
      th.addEventListener("click", function () { sortTable(table, th, col); });
    });
  }

  /* ---------- segment explorer (data from <script type="application/json">) ---------- */

  function Explorer(root) {
    var source = document.getElementById(root.getAttribute("data-explorer"));
    var data = JSON.parse(source.textContent);
    var ui = {};
    ["search", "system", "metric", "sort", "a", "b", "diff", "changed", "flag", "size", "first",
      "prev", "next", "last", "status", "list"].forEach(function (name) {
      ui[name] = root.querySelector(".ex-" + name);
    });
    var srcLang = data.lang === "zh" ? "en" : data.lang === "en" ? "zh" : "";
    var tgtLang = data.lang === "zh" || data.lang === "en" ? data.lang : "";
    var order = [];
    var keys = null;
    var page = 0;
    var lowered = null;

    function lower(s) { return s.toLocaleLowerCase(); }

    function texts() {
      if (!lowered) {
        lowered = {
          src: data.src ? data.src.map(lower) : null,
          refs: data.refs.map(function (r) { return r.map(lower); }),
          hyps: data.hyps.map(function (h) { return h.map(lower); })
        };
      }
      return lowered;
    }

    function matches(i, term, sys) {
      var t = texts();
      if (t.src && t.src[i].indexOf(term) >= 0) return true;
      for (var k = 0; k < t.refs.length; k++) if (t.refs[k][i].indexOf(term) >= 0) return true;
      if (sys >= 0) return t.hyps[sys][i].indexOf(term) >= 0;
      for (var s = 0; s < t.hyps.length; s++) if (t.hyps[s][i].indexOf(term) >= 0) return true;
      return false;
    }

    function changedAt(i, sys) {
      if (sys >= 0) return data.changed[sys][i] === 1;
      if (data.refChanged[i] === 1) return true;
      for (var s = 0; s < data.changed.length; s++) if (data.changed[s][i] === 1) return true;
      return false;
    }

    /* flagSets[s][kind][i] === true when system s's segment i is flagged with kind */
    var flagSets = (data.flags || []).map(function (byKind) {
      var sets = {};
      Object.keys(byKind || {}).forEach(function (kind) {
        var set = {};
        byKind[kind].forEach(function (i) { set[i] = true; });
        sets[kind] = set;
      });
      return sets;
    });

    function flagsOf(s, i) {
      var sets = flagSets[s] || {};
      return (data.kinds || []).filter(function (kind) { return sets[kind] && sets[kind][i]; });
    }

    function flaggedAt(i, sys, kind) {
      if (sys >= 0) return !!(flagSets[sys] && flagSets[sys][kind] && flagSets[sys][kind][i]);
      for (var s = 0; s < flagSets.length; s++) if (flaggedAt(i, s, kind)) return true;
      return false;
    }

    function meanAt(m, i) {
      var sum = 0, n = 0;
      for (var s = 0; s < data.scores.length; s++) {
        var x = data.scores[s][m][i];
        if (x !== null) { sum += x; n++; }
      }
      return n ? sum / n : null;
    }

    function settings() {
      var m = Number(ui.metric.value);
      return {
        term: lower(ui.search.value.trim()),
        sys: ui.system.value === "" ? -1 : Number(ui.system.value),
        m: m,
        higher: data.metrics[m].higher,
        mode: ui.sort.value,
        a: Number(ui.a.value),
        b: Number(ui.b.value)
      };
    }

    function keyFunction(st) {
      if (st.mode === "worst" || st.mode === "best") {
        return function (i) { return st.sys >= 0 ? data.scores[st.sys][st.m][i] : meanAt(st.m, i); };
      }
      if (st.mode === "diff" || st.mode === "rdiff") {
        return function (i) {
          var x = data.scores[st.a][st.m][i], y = data.scores[st.b][st.m][i];
          return x === null || y === null ? null : x - y;
        };
      }
      return null;
    }

    function recompute() {
      var st = settings();
      var idx = [];
      for (var i = 0; i < data.n; i++) {
        if (ui.changed.checked && !changedAt(i, st.sys)) continue;
        if (ui.flag && ui.flag.value && !flaggedAt(i, st.sys, ui.flag.value)) continue;
        if (st.term && !matches(i, st.term, st.sys)) continue;
        idx.push(i);
      }
      var key = keyFunction(st);
      keys = null;
      if (key) {
        /* ascending when the worst comes first: low scores, or high TER */
        var up = st.mode === "worst" || st.mode === "diff" ? st.higher : !st.higher;
        var sign = up ? 1 : -1;
        keys = {};
        idx.forEach(function (i) { keys[i] = key(i); });
        idx.sort(function (p, q) {
          var x = keys[p], y = keys[q];
          if (x === null || y === null) return x === y ? p - q : x === null ? 1 : -1;
          return sign * (x - y) || p - q;
        });
      }
      order = idx;
      page = 0;
      forEach.call(root.querySelectorAll(".ex-pair"), function (node) {
        node.hidden = !(st.mode === "diff" || st.mode === "rdiff");
      });
      render();
    }

    function pageSize() { return Number(ui.size.value) || 25; }

    function pages() { return Math.max(1, Math.ceil(order.length / pageSize())); }

    /* A marked run keeps its outer whitespace unmarked: a space is not a difference. */
    function mark(cell, text, tag, cls) {
      var m = /^(\s*)([\s\S]*?)(\s*)$/.exec(text);
      if (tag === "ins" && m[1]) cell.appendChild(document.createTextNode(m[1]));
      if (m[2]) cell.appendChild(el(tag, cls, m[2]));
      if (tag === "ins" && m[3]) cell.appendChild(document.createTextNode(m[3]));
    }

    function diffInto(cell, hyp, ref, code, mode) {
      if (hyp === "" && mode !== "full") {
        cell.appendChild(el("span", "muted", "(empty)"));
        return;
      }
      if (mode === "off" || !code) {
        cell.appendChild(document.createTextNode(hyp));
        return;
      }
      var h = Array.from(hyp), r = Array.from(ref), hp = 0, rp = 0, full = mode === "full";
      for (var k = 0; k + 3 < code.length; k += 4) {
        if (full && code[k + 1]) mark(cell, r.slice(rp, rp + code[k + 1]).join(""), "del", "miss");
        if (code[k]) mark(cell, h.slice(hp, hp + code[k]).join(""), "ins", "add");
        hp += code[k];
        rp += code[k + 1];
        if (code[k + 2]) cell.appendChild(document.createTextNode(h.slice(hp, hp + code[k + 2]).join("")));
        hp += code[k + 2];
        rp += code[k + 3];
      }
      if (full && rp < r.length) mark(cell, r.slice(rp).join(""), "del", "miss");
      if (hp < h.length) mark(cell, h.slice(hp).join(""), "ins", "add");
    }

    function textRow(list, label, text, lang) {
      list.appendChild(el("dt", "", label));
      var dd = el("dd", "txt", text);
      if (lang) dd.lang = lang;
      list.appendChild(dd);
    }

    function headText(st, i) {
      if (!keys) return "";
      var label = data.metrics[st.m].label;
      var x = keys[i];
      if (st.mode === "diff" || st.mode === "rdiff") {
        var d = x === null ? "\u2014" : signed(x);
        return label + " " + data.systems[st.a] + " \u2212 " + data.systems[st.b] + ": " + d;
      }
      var who = st.sys >= 0 ? data.systems[st.sys] : "mean of systems";
      return label + " (" + who + "): " + fmt(x);
    }

    function renderSegment(i, st, mode) {
      var li = el("li", "seg");
      li.setAttribute("data-seg", String(i + 1));
      var head = el("div", "seg-head");
      head.appendChild(el("span", "seg-no", "#" + (i + 1)));
      var text = headText(st, i);
      if (text) head.appendChild(el("span", "seg-key", text));
      if (data.refChanged[i] === 1) head.appendChild(el("span", "badge", "reference normalized"));
      li.appendChild(head);

      var dl = el("dl", "seg-texts");
      if (data.src) textRow(dl, "Source", data.src[i], srcLang);
      data.refs.forEach(function (ref, k) {
        textRow(dl, data.refs.length > 1 ? "Reference " + (k + 1) : "Reference", ref[i], tgtLang);
      });
      li.appendChild(dl);

      var table = el("table", "cands");
      var hr = el("tr");
      hr.appendChild(el("th", "", "System"));
      data.metrics.forEach(function (m, k) {
        var th = el("th", k === st.m ? "num cur" : "num", m.label);
        th.title = m.higher ? "higher is better" : "lower is better";
        hr.appendChild(th);
      });
      hr.appendChild(el("th", "", "Candidate"));
      table.appendChild(el("thead")).appendChild(hr);
      var body = table.appendChild(el("tbody"));
      data.systems.forEach(function (name, s) {
        if (st.sys >= 0 && s !== st.sys) return;
        var tr = el("tr");
        if (s === data.baseline) tr.className = "baseline";
        if ((st.mode === "diff" || st.mode === "rdiff") && (s === st.a || s === st.b)) {
          tr.className += " pair";
        }
        var th = el("th", "sys", name);
        if (data.changed[s][i] === 1) th.appendChild(el("span", "badge", "normalized"));
        flagsOf(s, i).forEach(function (kind) { th.appendChild(el("span", "badge flag", kind)); });
        tr.appendChild(th);
        data.metrics.forEach(function (m, k) {
          tr.appendChild(el("td", k === st.m ? "num cur" : "num", fmt(data.scores[s][k][i])));
        });
        var cell = el("td", "txt");
        if (tgtLang) cell.lang = tgtLang;
        diffInto(cell, data.hyps[s][i], data.refs[0][i], data.diff[s][i], mode);
        tr.appendChild(cell);
        body.appendChild(tr);
      });
      li.appendChild(table);
      return li;
    }

    function render() {
      var st = settings();
      var size = pageSize();
      page = Math.min(Math.max(page, 0), pages() - 1);
      var start = page * size;
      var shown = order.slice(start, start + size);
      var list = ui.list;
      while (list.firstChild) list.removeChild(list.firstChild);
      var frag = document.createDocumentFragment();
      shown.forEach(function (i) { frag.appendChild(renderSegment(i, st, ui.diff.value)); });
      list.appendChild(frag);
      var filtered = order.length === data.n ? "" : " matching (" + data.n + " in all)";
      ui.status.textContent = order.length
        ? "Segments " + (start + 1) + "\u2013" + (start + shown.length) + " of " + order.length +
          filtered + " \u00b7 page " + (page + 1) + " of " + pages()
        : "No segment matches.";
      ui.first.disabled = ui.prev.disabled = page === 0;
      ui.next.disabled = ui.last.disabled = page >= pages() - 1;
    }

    function go(to) {
      return function () {
        page = to();
        render();
        root.scrollIntoView({ block: "start" });
      };
    }

    var timer = null;
    ui.search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(recompute, 150);
    });
    [ui.system, ui.metric, ui.sort, ui.a, ui.b, ui.changed, ui.flag].forEach(function (node) {
      if (node) node.addEventListener("change", recompute);
    });
    ui.diff.addEventListener("change", render);
    ui.size.addEventListener("change", function () { page = 0; render(); });
    ui.first.addEventListener("click", go(function () { return 0; }));
    ui.prev.addEventListener("click", go(function () { return page - 1; }));
    ui.next.addEventListener("click", go(function () { return page + 1; }));
    ui.last.addEventListener("click", go(function () { return pages() - 1; }));
    recompute();
  }

  forEach.call(document.querySelectorAll("table.sortable"), initSortable);
  forEach.call(document.querySelectorAll("[data-explorer]"), Explorer);
}());
