// EcsMem's HTML page (ecsmem run --html): draws the data object embedded above. Vanilla JS, no network.
// Every script error is recorded in the page (footer list, body[data-errors]) and a self-check of what was drawn
// is written to body[data-selfcheck], so a headless browser's --dump-dom shows both.
'use strict';
(function () {
  var errors = [];
  function recordError(msg) {
    errors.push(String(msg));
    document.body.setAttribute('data-errors', String(errors.length));
    var li = document.createElement('li');
    li.textContent = 'script error: ' + msg;
    document.getElementById('errors').appendChild(li);
  }
  window.addEventListener('error', function (e) { recordError((e.message || 'error') + ' at ' + (e.lineno || '?') + ':' + (e.colno || '?')); });
  window.addEventListener('unhandledrejection', function (e) { recordError('unhandled rejection: ' + e.reason); });

  var SVGNS = 'http://www.w3.org/2000/svg';
  var D = JSON.parse(document.getElementById('ecsmem-data').textContent);
  var R = D.report;
  var PB = {};
  Object.keys(D.pte_bits).forEach(function (k) {
    var v = D.pte_bits[k];
    PB[k] = typeof v === 'string' ? BigInt(v) : v;
  });
  var state = { snap: 0, pid: null, addr: null, step: 0, playing: null, mode: 'samples' };

  // ---------- small helpers ----------
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function big(h) { return BigInt(h); }
  function hex(b) { return '0x' + b.toString(16); }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  function size(bytes) {
    var b = Number(bytes), u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (b >= 100 || i === 0 ? Math.round(b) : Math.round(b * 10) / 10) + ' ' + u[i];
  }
  function mmMap(p) {
    var m = {};
    p.mm_struct.forEach(function (f) { m[f[0]] = f[2] === null ? null : big(f[2]); });
    return m;
  }
  function mapsPath(line) {
    // /proc/PID/maps: start-end perms offset dev inode [path]; the path starts after the inode's padding.
    var parts = line.split(/\s+/);
    return parts.length > 5 ? line.substring(line.indexOf(parts[5], line.indexOf(parts[4]) + parts[4].length)) : '';
  }

  // What the seed's figure calls each area: text, data, bss, heap, mmap area, stack (and the special pages).
  function role(v, mm) {
    var path = mapsPath(v.maps), s = big(v.start), e = big(v.end);
    if (v.vm_ops === 'stack' || path === '[stack]') return 'stack';
    if (v.vm_ops === 'heap' || path === '[heap]') return 'heap';
    if (/^\[.*\]$/.test(path)) return path.slice(1, -1);
    if (v.vm_ops === 'file') {
      if (mm.end_code > mm.start_code && s < mm.end_code && e > mm.start_code) return 'text';
      if (mm.end_data > mm.start_data && s < mm.end_data && e > mm.start_data) return 'data';
      return 'mmap';
    }
    var page = 4096n, dataEnd = (mm.end_data + page - 1n) / page * page;
    if (mm.end_data > 0n && s >= dataEnd && e <= mm.start_brk) return 'bss';
    return 'mmap';
  }
  var ROLE_COLOR = { text: 'var(--text)', data: 'var(--data)', bss: 'var(--bss)', heap: 'var(--heap)', mmap: 'var(--mmap)', stack: 'var(--stack)' };
  function roleColor(r, v) {
    if (r === 'mmap' && v.vm_ops !== 'file') return 'var(--anon)';
    return ROLE_COLOR[r] || 'var(--special)';
  }
  function roleLabel(r, v) {
    if (r === 'mmap') return v.vm_ops === 'file' ? 'mmap: ' + baseName(mapsPath(v.maps)) : 'mmap (anonymous)';
    if (r === 'heap') return 'heap ↑';
    if (r === 'stack') return 'stack ↓';
    return r;
  }
  function baseName(p) { var i = p.lastIndexOf('/'); return i >= 0 ? p.substring(i + 1) : p; }

  function snap() { return D.snapshots[state.snap]; }
  function proc(pid) {
    var ps = snap() ? snap().processes : [];
    for (var i = 0; i < ps.length; i++) if (ps[i].pid === pid) return ps[i];
    return null;
  }

  // ---------- header and snapshot bar ----------
  function header() {
    document.getElementById('title').textContent = D.title;
    var t = R.time;
    document.getElementById('subtitle').textContent =
      'policy ' + R.policy + ' · paging ' + D.paging.name + ' · RAM ' + size(R.ram_kb * 1024) + ' · swap ' + size(R.swap_kb * 1024) +
      ' · ' + fmt(t.accesses) + ' accesses in ' + fmt(t.cycles) + ' cycles (' + t.seconds + ' s simulated)' +
      (R.partial ? ' · PARTIAL run' : '');
    var bar = clear(document.getElementById('snapbar'));
    bar.appendChild(el('span', { class: 'label' }, D.caps.default_snapshots ? 'snapshot (default set):' : 'snapshot (--snapshot):'));
    D.snapshots.forEach(function (s, i) {
      var b = el('button', { type: 'button', 'data-snap': s.when }, s.when + (s.reached ? '' : ' (not reached)'));
      b.title = 't=' + s.cycles + ' cycles, ' + s.accesses + ' accesses, ' + s.processes.length + ' live processes';
      b.addEventListener('click', function () { state.snap = i; renderSnapshot(); });
      bar.appendChild(b);
    });
  }

  // ---------- 1: the address spaces, as the seed's figure draws one ----------
  function renderAddressSpaces() {
    var s = snap(), box = clear(document.getElementById('as'));
    document.getElementById('as-when').textContent = s ? 'at ' + s.when + ' (t=' + fmt(s.cycles) + ', ' + fmt(s.accesses) + ' accesses)' : '';
    if (!s || s.processes.length === 0) {
      box.appendChild(el('p', { class: 'note' }, s && !s.reached ? 'This moment was not reached: the run ended first.' :
        'No live process at this moment: every address space has been torn down (exit_mmap).'));
      return;
    }
    var H = 470, colW = s.processes.length === 1 ? 300 : s.processes.length === 2 ? 220 : 160, gap = 16, left = 86, top = 34;
    var pitch = left + colW + gap, W = s.processes.length * pitch;
    var svg = sv('svg', { class: 'as-svg', width: W, height: H + top + 40, viewBox: '0 0 ' + W + ' ' + (H + top + 40), role: 'img' });
    svg.appendChild(sv('title', null, 'Process address spaces at ' + s.when));
    s.processes.forEach(function (p, i) { svg.appendChild(drawSpace(p, left + i * pitch, top, colW, H, true)); });
    box.appendChild(svg);
    var lg = el('div', { class: 'legend' });
    [['text', 'var(--text)'], ['data', 'var(--data)'], ['bss', 'var(--bss)'], ['heap', 'var(--heap)'], ['mmap area (file)', 'var(--mmap)'],
      ['mmap area (anonymous)', 'var(--anon)'], ['stack', 'var(--stack)'], ['vdso / vvar', 'var(--special)'], ['kernel space', 'var(--kernel)']].forEach(function (x) {
      var sp = el('span'); var i = el('i'); i.style.background = x[1]; sp.appendChild(i); sp.appendChild(document.createTextNode(x[0])); lg.appendChild(sp);
    });
    var sp = el('span'); var i2 = el('i'); i2.style.background = 'repeating-linear-gradient(45deg,#1d2433 0 2px,transparent 2px 5px)'; sp.appendChild(i2);
    sp.appendChild(document.createTextNode('resident (RSS) share of the area')); lg.appendChild(sp);
    box.appendChild(lg);
    document.getElementById('as-note').textContent =
      'Low addresses at the bottom, as in the lecture\'s figure. Areas are not to scale: each VMA gets a band that grows with the ' +
      'logarithm of its size, unmapped gaps are folded (their size is written in them). The hatched part of a VMA is its ' +
      'resident share (RSS as /proc/PID/smaps counts it: present pages, the shared zero page excluded). Click a VMA to walk its first page.';
  }

  function drawSpace(p, x, y, w, H, first) {
    var g = sv('g', { class: 'space', 'data-pid': p.pid });
    var mm = mmMap(p);
    var taskSize = big(D.paging.task_size);
    var vmas = p.vmas.map(function (v) { return { v: v, s: big(v.start), e: big(v.end), r: role(v, mm) }; });
    var user = vmas.filter(function (a) { return a.s < taskSize; });
    var gate = vmas.filter(function (a) { return a.s >= taskSize; });
    // bands from low to high: gaps and VMAs, then kernel space
    var bands = [], at = 0n;
    user.forEach(function (a) {
      if (a.s > at) bands.push({ kind: 'hole', s: at, e: a.s });
      bands.push({ kind: 'vma', a: a, s: a.s, e: a.e });
      at = a.e;
    });
    if (at < taskSize) bands.push({ kind: 'hole', s: at, e: taskSize });
    bands.push({ kind: 'kernel', s: taskSize });
    var weights = bands.map(function (b) {
      if (b.kind === 'hole') return 0.9;
      if (b.kind === 'kernel') return 2.2;
      var pages = Number((b.e - b.s) / 4096n);
      return 1.5 + Math.log2(Math.max(1, pages)) / 3;
    });
    var total = weights.reduce(function (a, b) { return a + b; }, 0);
    var cy = y + H;
    g.appendChild(sv('text', { class: 'pname', x: x + w / 2, y: y - 14, 'text-anchor': 'middle' }, 'pid ' + p.pid + ' · ' + p.name));
    g.appendChild(sv('text', { class: 'addr', x: x + w / 2, y: y - 3, 'text-anchor': 'middle' },
      p.state + ' · RSS ' + fmt(Number(mm.rss_anon + mm.rss_file + mm.rss_shmem)) + ' of ' + fmt(Number(mm.total_vm)) + ' pages'));
    bands.forEach(function (b, i) {
      var h = weights[i] / total * H, top = cy - h;
      if (b.kind === 'hole') {
        var hg = sv('g', { class: 'hole' });
        hg.appendChild(sv('rect', { x: x, y: top, width: w, height: h }));
        hg.appendChild(sv('text', { class: 'addr', x: x + w / 2, y: top + h / 2 + 3, 'text-anchor': 'middle' }, '⋮ ' + size(b.e - b.s) + ' unmapped'));
        g.appendChild(hg);
      } else if (b.kind === 'kernel') {
        var kg = sv('g', { class: 'kernel' });
        kg.appendChild(sv('rect', { x: x, y: top, width: w, height: h }));
        var kt = D.paging.va_bits === 32 ? '1 GiB (the 3G/1G split)' : 'the upper half' + (gate.length ? ', ' + gate.map(function (a) { return mapsPath(a.v.maps); }).join(' ') : '');
        kg.appendChild(sv('text', { class: 'lbl', x: x + w / 2, y: top + h / 2 - 6, 'text-anchor': 'middle', style: 'fill:#fff' }, 'kernel space'));
        kg.appendChild(sv('text', { class: 'addr', x: x + w / 2, y: top + h / 2 + 6, 'text-anchor': 'middle', style: 'fill:#c7d0dc' }, kt));
        kg.appendChild(sv('text', { class: 'addr', x: x + w / 2, y: top + h / 2 + 17, 'text-anchor': 'middle', style: 'fill:#c7d0dc' }, 'shared by every process'));
        g.appendChild(kg);
        if (first) g.appendChild(sv('text', { class: 'addr mono', x: x - 4, y: cy + 3, 'text-anchor': 'end' }, hex(taskSize)));
      } else {
        g.appendChild(drawVma(p, b.a, x, top, w, h));
      }
      if (first || b.kind === 'vma') {
        g.appendChild(sv('text', { class: 'addr mono', x: x - 4, y: cy + 3, 'text-anchor': 'end' }, hex(b.s)));
      }
      cy = top;
    });
    return g;
  }

  function drawVma(p, a, x, top, w, h) {
    var v = a.v, pages = Number((a.e - a.s) / 4096n);
    var g = sv('g', { class: 'vma', 'data-pid': p.pid, 'data-role': a.r, 'data-start': v.start, 'data-end': v.end, 'data-rss': v.rss, 'data-swap': v.swap });
    g.appendChild(sv('title', null, v.maps + '\nvm_flags ' + v.vm_flags + ' ' + v.vm_flag_names + '\nvm_ops ' + v.vm_ops + ', vm_pgoff ' + v.vm_pgoff +
      '\n' + pages + ' pages, ' + v.rss + ' resident, ' + v.swap + ' swapped out'));
    g.appendChild(sv('rect', { class: 'body', x: x, y: top, width: w, height: h, fill: roleColor(a.r, v) }));
    var frac = pages > 0 ? Math.min(1, v.rss / pages) : 0;
    if (frac > 0) {
      g.appendChild(sv('rect', { x: x + w - 16, y: top + h * (1 - frac), width: 16, height: h * frac, fill: 'url(#hatch)' }));
    }
    g.appendChild(sv('rect', { x: x + w - 16, y: top, width: 16, height: h, fill: 'none', stroke: '#1d2433', 'stroke-width': 0.5 }));
    var cx = x + (w - 16) / 2;
    if (h >= 13) g.appendChild(sv('text', { class: 'lbl', x: cx, y: top + 13, 'text-anchor': 'middle' }, roleLabel(a.r, v)));
    if (h >= 27) {
      g.appendChild(sv('text', { class: 'lbl2', x: cx, y: top + 26, 'text-anchor': 'middle' }, size(a.e - a.s) + ' · ' + perms(v.maps)));
    }
    if (h >= 38) {
      g.appendChild(sv('text', { class: 'lbl2', x: cx, y: top + 37, 'text-anchor': 'middle' }, 'RSS ' + fmt(v.rss) + (v.swap ? ' · swap ' + fmt(v.swap) : '')));
    }
    g.addEventListener('click', function () { state.pid = p.pid; state.addr = v.start; renderWalk(); });
    g.style.cursor = 'pointer';
    return g;
  }
  function perms(line) { return line.split(/\s+/)[1] || ''; }

  // ---------- 4: the mm_struct table of the seed ----------
  var MM_MEANING = {
    map_count: 'number of VMAs', total_vm: 'pages mapped (all VMAs)', rss_anon: 'resident anonymous pages',
    rss_file: 'resident file pages', rss_shmem: 'resident shared-memory pages', swap_ents: 'pages out in swap',
    locked_vm: 'pages locked in memory', data_vm: 'private writable pages', exec_vm: 'executable pages',
    stack_vm: 'stack pages', nr_ptes: 'PTE tables (page-table pages)', pgtables_bytes: 'bytes of page tables below the PGD',
    start_code: 'text segment start', end_code: 'text segment end', start_data: 'data segment start', end_data: 'data segment end',
    start_brk: 'heap start', brk: 'heap end (program break)', start_stack: 'stack start',
    arg_start: 'command-line arguments start', arg_end: 'command-line arguments end', env_start: 'environment start', env_end: 'environment end',
    mm_users: 'users of the address space (threads)', mm_count: 'references to the mm_struct', mmap_base: 'base of the mmap area',
    task_size: 'size of user space', pgd: 'the page directory (loaded into CR3)',
  };
  function renderMm() {
    var s = snap(), box = clear(document.getElementById('mm'));
    document.getElementById('mm-when').textContent = s ? 'at ' + s.when : '';
    if (!s || s.processes.length === 0) { box.appendChild(el('p', { class: 'note' }, 'No live process at this moment.')); return; }
    var t = el('table', { class: 'mm', id: 'mm-table' });
    var hr = el('tr');
    hr.appendChild(el('th', null, 'field'));
    hr.appendChild(el('th', null, 'meaning'));
    s.processes.forEach(function (p) { hr.appendChild(el('th', { 'data-pid': p.pid }, 'pid ' + p.pid + ' ' + p.name)); });
    t.appendChild(hr);
    s.processes[0].mm_struct.forEach(function (f, row) {
      var tr = el('tr');
      tr.appendChild(el('td', { class: 'f' }, f[0]));
      tr.appendChild(el('td', { class: 'm' }, MM_MEANING[f[0]] || ''));
      s.processes.forEach(function (p) {
        var cell = p.mm_struct[row];
        tr.appendChild(el('td', { class: 'mono', 'data-pid': p.pid, 'data-field': cell[0] }, cell[1]));
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
  }

  // ---------- 5: the page-table walk ----------
  function decodeFlags(e, level) {
    if (e === 0n) return 'none (pte_none: nothing mapped, no swap entry)';
    if ((e & PB.present) === 0n) {
      if ((e & PB.protnone) === 0n) {
        var sw = swapEntry(e);
        return 'not present: swap entry, type ' + sw.type + ', offset ' + sw.offset + ' (slot ' + sw.offset + ' of the swap area)';
      }
      return 'not present: PROTNONE (a PROT_NONE page: the frame is kept, every access faults)';
    }
    var n = ['P', (e & PB.rw) ? 'RW' : 'RO', (e & PB.user) ? 'US' : 'S'];
    if (e & PB.pwt) n.push('PWT');
    if (e & PB.pcd) n.push('PCD');
    if (e & PB.accessed) n.push('A');
    if (e & PB.dirty) n.push('D');
    if (e & PB.pse) n.push(level === 0 ? 'PAT' : 'PSE');
    if (e & PB.global) n.push('G');
    if (e & PB.special) n.push('SPECIAL');
    if (e & PB.cow) n.push('COW');
    if (e & PB.soft_dirty) n.push('SOFT_DIRTY');
    if (D.paging.has_nx && (e & PB.nx)) n.push('NX');
    return n.join(' ');
  }
  function swapEntry(e) {
    var tb = BigInt(PB.swap_type_bits), first = BigInt(PB.swap_offset_first_bit), bits = BigInt(PB.swap_offset_bits);
    var field = ((1n << bits) - 1n) << first;
    var inv = ~e & ((1n << 64n) - 1n);
    return { type: Number(e >> (64n - tb)), offset: Number((inv & field) >> first) };
  }
  function pfnOf(e) { return (e & PB.pfn_mask) >> 12n; }

  // The walk: from mm->pgd down, each level's index from the address bits; an upper entry holds the child table's id.
  function walk(p, va) {
    var pt = p.page_tables, steps = [];
    if (!pt) return { steps: steps, missing: 'no page tables are embedded for this process at this snapshot (taken without them, or the address space was torn down)' };
    var byId = {};
    pt.tables.forEach(function (t) { byId[t.id] = t; });
    var bits = BigInt(D.paging.bits_per_level), mask = (1n << bits) - 1n, id = pt.root;
    for (var level = D.paging.levels - 1; level >= 0; level--) {
      var t = byId[id];
      var index = Number((va >> (12n + BigInt(level) * bits)) & mask);
      if (!t) return { steps: steps, missing: 'this table (id ' + id + ') is not embedded: more than ' + D.caps.page_table_entries + ' PTEs in this process at this moment' };
      var e = 0n;
      for (var i = 0; i < t.entries.length; i += 2) if (t.entries[i] === index) { e = BigInt('0x' + t.entries[i + 1]); break; }
      var step = { level: level, name: D.paging.level_names[level], index: index, table: id, frame: t.frame, entry: e };
      steps.push(step);
      if ((e & PB.present) === 0n) break;
      if (level > 0) { id = Number(pfnOf(e)); step.next = id; } else { step.pfn = pfnOf(e); }
    }
    return { steps: steps };
  }

  function findVma(p, va) {
    for (var i = 0; i < p.vmas.length; i++) {
      var v = p.vmas[i];
      if (va >= big(v.start) && va < big(v.end)) return { vma: v, index: i };
    }
    return null;
  }

  // What the fault handler would do here (FaultHandlingSystem.Classify's rules: access_error, then handle_pte_fault's
  // choice). What needs more state than the page holds (is the file page cached, is the swap slot still in the swap
  // cache, is a COW page mapped only here) is named as the choice the kernel makes then; ecsmem explain decides it.
  function faultText(p, hit, pte, write) {
    if (!hit) {
      var above = null;
      for (var i = 0; i < p.vmas.length; i++) if (big(p.vmas[i].start) > state.va) { above = p.vmas[i]; break; }
      if (above && (big(above.vm_flags) & 0x100n))
        return 'no VMA, but the VMA above (at ' + above.start + ') grows down: expand_stack would extend it to here if RLIMIT_STACK and the guard gap allow, else SIGSEGV (SEGV_MAPERR)';
      return 'SIGSEGV (bad_area: no VMA covers the address; SEGV_MAPERR)';
    }
    var v = hit.vma, flags = big(v.vm_flags);
    var READ = 0x1n, WRITE = 0x2n, EXEC = 0x4n, SHARED = 0x8n;
    if (write ? (flags & WRITE) === 0n : (flags & (READ | WRITE | EXEC)) === 0n) return 'SIGSEGV (access_error: the VMA does not allow it; SEGV_ACCERR)';
    if (pte & PB.present) {
      if (!write || (pte & PB.rw)) return 'no fault: the PTE is present and allows it, the MMU translates it (through the TLB ⑧)';
      if (flags & SHARED) return 'do_wp_page → wp_page_shared: the shared page\'s PTE is made writable and dirty (minor fault)';
      return 'do_wp_page (copy-on-write): wp_page_reuse if the anonymous page is mapped only here, else wp_page_copy copies it into a new frame (minor fault)';
    }
    if (pte === 0n) {
      if (v.vm_ops === 'file') {
        var how = write && !(flags & SHARED) ? 'do_cow_fault' : write ? 'do_shared_fault' : 'do_read_fault';
        return 'do_fault → ' + how + ' → filemap_fault: the page cache ③ is looked up (minor fault if the page is cached, else a disk read: major fault)' +
          (write && !(flags & SHARED) ? ', then the page is copied into a private frame' : '');
      }
      if (!write && !(flags & SHARED)) return 'do_anonymous_page: a read of never-written anonymous memory maps the shared zero page read-only (minor fault, no new frame)';
      return 'do_anonymous_page: allocates a zeroed frame ② and maps it (minor fault)';
    }
    if ((pte & PB.protnone) === 0n) {
      var sw = swapEntry(pte);
      return 'do_swap_page: swap slot ' + sw.offset + ': found in the swap cache ⑥ (minor fault) or read back from swap into a new frame (major fault); the PTE is rewritten ⑦';
    }
    return 'SIGSEGV (a PROT_NONE entry)';
  }

  function renderWalkForm() {
    var f = clear(document.getElementById('walk-form'));
    var s = snap();
    f.appendChild(el('label', { for: 'walk-pid' }, 'process'));
    var sel = el('select', { id: 'walk-pid' });
    (s ? s.processes : []).forEach(function (p) {
      var o = el('option', { value: p.pid }, p.pid + ' ' + p.name);
      if (p.pid === state.pid) o.selected = true;
      sel.appendChild(o);
    });
    f.appendChild(sel);
    f.appendChild(el('label', { for: 'walk-addr' }, 'address'));
    var inp = el('input', { id: 'walk-addr', type: 'text', value: state.addr || '', placeholder: '0x… (hex) or decimal' });
    f.appendChild(inp);
    f.appendChild(el('button', { type: 'submit' }, 'walk'));
    f.onsubmit = function (ev) { ev.preventDefault(); state.pid = Number(sel.value); state.addr = inp.value.trim(); renderWalk(); };
    sel.onchange = function () { state.pid = Number(sel.value); state.addr = defaultAddr(proc(state.pid)); renderWalk(); };
  }

  function defaultAddr(p) {
    if (!p) return null;
    var best = null;
    p.vmas.forEach(function (v) { if (!best && v.rss > 0 && (v.vm_ops === 'heap' || v.vm_ops === 'anonymous')) best = v; });
    p.vmas.forEach(function (v) { if (!best && v.rss > 0) best = v; });
    if (!best) return p.vmas.length ? p.vmas[0].start : null;
    // the first resident page of that area
    var w0 = big(best.start), end = big(best.end);
    for (var va = w0; va < end && va < w0 + 4096n * 4096n; va += 4096n) {
      var r = walk(p, va);
      var last = r.steps[r.steps.length - 1];
      if (last && last.level === 0 && last.pfn !== undefined && last.pfn !== BigInt(D.zero_pfn)) return hex(va);
    }
    return best.start;
  }

  function parseAddr(text) {
    var t = String(text || '').replace(/_/g, '');
    if (/^0x[0-9a-f]+$/i.test(t)) return BigInt(t);
    if (/^[0-9]+$/.test(t)) return BigInt(t);
    return null;
  }

  function renderWalk() {
    renderWalkForm();
    var out = clear(document.getElementById('walk'));
    var p = proc(state.pid);
    highlightPicked();
    if (!p) { out.appendChild(el('p', { class: 'note' }, 'No live process at this moment: nothing to walk.')); return; }
    var va = parseAddr(state.addr);
    var res = el('div', { id: 'walk-result', class: 'result', 'data-pid': p.pid });
    if (va === null) { res.textContent = 'Not an address: type 0x followed by hex digits, or a decimal number.'; res.setAttribute('data-status', 'bad-address'); out.appendChild(res); return; }
    state.va = va;
    res.setAttribute('data-addr', hex(va));
    if (va >= big(D.paging.task_size)) {
      res.textContent = hex(va) + ' is at or above TASK_SIZE ' + D.paging.task_size + ': kernel space, which no process\'s user page tables map.';
      res.setAttribute('data-status', 'kernel'); out.appendChild(res); return;
    }
    out.appendChild(splitTable(va));
    var r = walk(p, va);
    r.steps.forEach(function (st) {
      var cls = 'level' + (st.entry === 0n ? ' none' : st.level === 0 ? ((st.entry & PB.present) ? ' leaf' : ' swap') : '');
      var d = el('div', { class: cls, 'data-level': st.name, 'data-index': st.index, 'data-entry': hex(st.entry) });
      var line1 = el('div');
      line1.appendChild(el('b', null, st.name));
      line1.appendChild(document.createTextNode(' table id ' + st.table + ' (frame ' + (st.frame < 0 ? 'not charged' : 'pfn 0x' + st.frame.toString(16)) + ') entry ['));
      line1.appendChild(el('span', { class: 'e' }, String(st.index)));
      line1.appendChild(document.createTextNode('] = '));
      line1.appendChild(el('span', { class: 'e' }, '0x' + st.entry.toString(16).padStart(16, '0')));
      d.appendChild(line1);
      d.appendChild(el('div', null, 'flags: ' + decodeFlags(st.entry, st.level)));
      if (st.next !== undefined) d.appendChild(el('div', null, '→ ' + D.paging.level_names[st.level - 1] + ' table id ' + st.next + ' (the simulator keeps the table id in the entry\'s PFN field)'));
      else if (st.level > 0) d.appendChild(el('div', null, '→ no ' + D.paging.level_names[st.level - 1] + ' table: the walk stops here; a fault would allocate the missing tables (__pte_alloc and friends)'));
      out.appendChild(d);
    });
    var last = r.steps[r.steps.length - 1];
    var pte = last && last.level === 0 ? last.entry : 0n;
    if (r.missing) {
      res.setAttribute('data-status', 'not-embedded');
      res.appendChild(el('div', null, 'The walk cannot go on: ' + r.missing + '. Use ecsmem explain for this address.'));
    } else if (last && last.pfn !== undefined) {
      var phys = (last.pfn << 12n) | (va & 4095n);
      res.setAttribute('data-status', 'mapped');
      res.setAttribute('data-frame', hex(last.pfn));
      res.appendChild(el('div', null, '→ page frame pfn ' + hex(last.pfn) + (last.pfn === BigInt(D.zero_pfn) ? ' (the shared zero page)' : '') + ', physical address ' + hex(phys)));
    } else {
      res.setAttribute('data-status', pte !== 0n ? ((pte & PB.protnone) ? 'protnone' : 'swapped') : 'not-mapped');
      res.appendChild(el('div', null, pte !== 0n ? 'not present: ' + decodeFlags(pte, 0) : 'not mapped: no page is present at this address'));
    }
    var hit = findVma(p, va);
    res.appendChild(el('div', { class: 'mono', 'data-vma': hit ? hit.vma.start : 'none' }, 'VMA: ' + (hit ? hit.vma.maps : 'no VMA covers this address')));
    res.appendChild(el('div', { class: 'fault' }, 'a read here: ' + faultText(p, hit, pte, false)));
    res.appendChild(el('div', { class: 'fault' }, 'a write here: ' + faultText(p, hit, pte, true)));
    out.appendChild(res);
    if (D.snapshots[state.snap].processes.some(function (q) { return q.page_tables && q.page_tables.omitted_tables > 0; })) {
      out.appendChild(el('p', { class: 'note' }, 'At most ' + D.caps.page_table_entries + ' PTEs per process are embedded at each snapshot (whole PTE tables, by address); tables past that are left out.'));
    }
  }

  function splitTable(va) {
    var t = el('table', { class: 'split' }), bitsRow = el('tr', { class: 'bits' }), names = el('tr'), idx = el('tr');
    var bits = D.paging.bits_per_level;
    for (var level = D.paging.levels - 1; level >= -1; level--) {
      var lo = level < 0 ? 0 : 12 + level * bits, hi = level < 0 ? 11 : lo + bits - 1;
      var v = level < 0 ? (va & 4095n) : (va >> BigInt(lo)) & ((1n << BigInt(bits)) - 1n);
      bitsRow.appendChild(el('td', null, hi + '…' + lo));
      names.appendChild(el('td', null, level < 0 ? 'offset' : D.paging.level_names[level]));
      idx.appendChild(el('td', { class: 'mono' }, String(v) + (level < 0 ? ' (0x' + v.toString(16) + ')' : '')));
    }
    t.appendChild(bitsRow); t.appendChild(names); t.appendChild(idx);
    return t;
  }

  function highlightPicked() {
    var gs = document.querySelectorAll('#as g.vma');
    var va = parseAddr(state.addr);
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i], on = va !== null && Number(g.getAttribute('data-pid')) === state.pid &&
        va >= big(g.getAttribute('data-start')) && va < big(g.getAttribute('data-end'));
      g.classList.toggle('picked', on);
    }
  }

  // ---------- 2: the seed's diagram of the mechanisms ----------
  // The boxes and arrows, placed by hand as in the seed's figure: mapping (disk to address space) on top, demand
  // paging ① down to the fault handler, allocation ② down to physical memory, the page cache ③ to its left, reclaim ④
  // and swapping out ⑤ to the right and down, the swap cache ⑥ back along the bottom, the page-table rewrite ⑦ up
  // the right edge, and the TLB ⑧ on the translation path.
  var BW = 180, BH = 50;
  var BOXES = {
    disk: { x: 20, y: 30, t: 'disk: program and data files', s: 'executables, mapped files', cls: 'disk' },
    vas: { x: 340, y: 30, t: 'process virtual address space', s: 'mm_struct, VMAs (text … stack)' },
    tlb: { x: 660, y: 30, t: 'TLB', s: 'cached translations', cls: 'hw' },
    pcache: { x: 20, y: 160, t: 'page cache', s: 'file pages in memory' },
    fault: { x: 340, y: 160, t: 'page-fault handler', s: 'demand paging (do_*_page)' },
    ptab: { x: 660, y: 160, t: 'page tables', s: 'PGD → … → PTE', cls: 'hw' },
    scache: { x: 20, y: 290, t: 'swap cache', s: 'pages between memory and swap' },
    phys: { x: 340, y: 290, t: 'physical memory', s: 'buddy allocator: free frames' },
    reclaim: { x: 660, y: 290, t: 'reclaim', s: 'kswapd, direct reclaim, LRU lists' },
    swap: { x: 660, y: 400, t: 'swap area (disk)', s: 'swap slots', cls: 'disk' },
  };
  // n, path, circle centre, caption [x, y, anchor, rotate?]
  var ARROWS = [
    { n: 'mapping', d: 'M200,55 L338,55', c: [269, 55], cap: ['mapping (exec, mmap)', 269, 45, 'middle'] },
    { n: 1, d: 'M430,80 L430,158', c: [430, 119], cap: ['page not present: page fault', 445, 123, 'start'] },
    { n: 2, d: 'M430,210 L430,288', c: [430, 249], cap: ['allocate a frame', 445, 253, 'start'] },
    { n: 3, d: 'M340,185 L202,185', c: [271, 185], cap: ['file page: look up / add', 271, 172, 'middle'] },
    { n: 4, d: 'M520,315 L658,315', c: [589, 315], cap: ['free memory low', 589, 302, 'middle'] },
    { n: 5, d: 'M750,340 L750,398', c: [750, 369], cap: ['write victims out', 765, 373, 'start'] },
    { n: 6, d: 'M660,432 L110,432 L110,342', c: [385, 432], cap: ['swap-in goes through the swap cache', 385, 452, 'middle'] },
    { n: 7, d: 'M840,425 C875,425 875,185 842,185', c: [866, 305], cap: ['PTE ⇄ swap entry', 884, 305, 'middle', true] },
    { n: 8, d: 'M520,55 L658,55', c: [589, 55], cap: ['translate', 589, 42, 'middle'] },
  ];
  var LINKS = [
    ['M750,80 L750,158', 'TLB miss: page walk', 760, 123],
    ['M520,192 L658,192', 'set the PTE', 589, 205],
    ['M110,80 L110,158', 'file reads', 120, 123],
    ['M202,315 L338,315', '', 0, 0],
  ];
  function renderMechanisms() {
    var box = clear(document.getElementById('mech'));
    var svg = sv('svg', { viewBox: '0 0 900 470', width: '100%', role: 'img', id: 'mech-svg' });
    svg.appendChild(sv('title', null, 'The five mechanisms of Linux memory management and how they work together (arrows ①–⑧)'));
    var defs = sv('defs');
    ['head', 'headlit'].forEach(function (id) {
      var m = sv('marker', { id: id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      m.appendChild(sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: id === 'head' ? '#7a8494' : '#d6332a' }));
      defs.appendChild(m);
    });
    var hatch = sv('pattern', { id: 'hatch', width: 5, height: 5, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
    hatch.appendChild(sv('rect', { width: 5, height: 5, fill: 'rgba(255,255,255,.35)' }));
    hatch.appendChild(sv('rect', { width: 2, height: 5, fill: '#1d2433' }));
    defs.appendChild(hatch);
    svg.appendChild(defs);
    svg.appendChild(sv('text', { x: 660, y: 20, style: 'font-size:10px;fill:#5d6778' }, 'hardware: address translation (MMU)'));
    LINKS.forEach(function (l) {
      svg.appendChild(sv('path', { d: l[0], fill: 'none', stroke: '#9aa6b2', 'stroke-dasharray': '3 3' }));
      if (l[1]) svg.appendChild(sv('text', { x: l[2], y: l[3], 'text-anchor': l[2] === 589 ? 'middle' : 'start', style: 'font-size:9.5px;fill:#5d6778' }, l[1]));
    });
    Object.keys(BOXES).forEach(function (k) {
      var B = BOXES[k], g = sv('g', { class: 'box ' + (B.cls || ''), 'data-box': k });
      g.appendChild(sv('rect', { x: B.x, y: B.y, width: BW, height: BH, rx: 6 }));
      g.appendChild(sv('text', { x: B.x + BW / 2, y: B.y + 21 }, B.t));
      g.appendChild(sv('text', { class: 'small', x: B.x + BW / 2, y: B.y + 37 }, B.s));
      svg.appendChild(g);
    });
    ARROWS.forEach(function (a) {
      var g = sv('g', { class: 'arrow', id: 'arrow-' + a.n, 'data-arrow': String(a.n) });
      g.appendChild(sv('path', { d: a.d, 'marker-end': 'url(#head)' }));
      var cx = a.c[0], cy = a.c[1];
      if (a.n !== 'mapping') {
        g.appendChild(sv('circle', { cx: cx, cy: cy, r: 10 }));
        g.appendChild(sv('text', { class: 'n', x: cx, y: cy }, '①②③④⑤⑥⑦⑧'.charAt(a.n - 1)));
      } else {
        g.appendChild(sv('circle', { cx: cx, cy: cy, r: 4 }));
      }
      var cap = a.cap, attrs = { class: 'cap', x: cap[1], y: cap[2], 'text-anchor': cap[3] };
      if (cap[4]) attrs.transform = 'rotate(90 ' + cap[1] + ' ' + cap[2] + ')';
      g.appendChild(sv('text', attrs, cap[0]));
      var vertical = cap[3] === 'start';
      var below = !vertical && cap[2] > cy;
      g.appendChild(sv('text', { class: 'count', x: vertical ? cx + 15 : cx, y: cy + (vertical ? 18 : below ? -14 : 22), 'text-anchor': vertical ? 'start' : 'middle' }, ''));
      svg.appendChild(g);
    });
    box.appendChild(svg);
  }

  // ---------- the timeline that lights the arrows ----------
  var TL = D.timeline;
  var CI = {};
  TL.counters.forEach(function (c, i) { CI[c] = i; });
  var OPS = (R.address_space_log || []).map(function (line) {
    var m = /^t=(\d+) /.exec(line);
    return m ? { t: Number(m[1]), line: line } : null;
  }).filter(function (x) { return x; });
  function stepOf(i) {
    var s = TL.samples[i], prev = i > 0 ? TL.samples[i - 1] : null, d = s[6];
    function c(name) { return d[CI[name]] || 0; }
    var t0 = prev ? prev[0] : 0, a0 = prev ? prev[1] : 0;
    var ops = OPS.filter(function (o) { return o.t > (prev ? t0 : -1) && o.t <= s[0]; });
    var lit = {
      mapping: ops.length,
      1: c('pgfault'),
      2: c('pgalloc_normal'),
      3: c('ecsmem_pagecache_hit') + c('ecsmem_pagecache_miss'),
      4: c('ecsmem_kswapd_wakeups') + c('pgscan_kswapd') + c('pgscan_direct'),
      5: c('pgsteal_kswapd') + c('pgsteal_direct'),
      6: c('ecsmem_swapcache_hit') + c('pswpin'),
      7: c('pswpout') + c('pswpin'),
      8: c('dtlb_miss') + c('nr_tlb_local_flush_one') + c('nr_tlb_local_flush_all'),
    };
    var lines = [];
    if (ops.length) lines.push('mapping: ' + ops.map(function (o) { return o.line; }).join('; '));
    if (lit[1]) lines.push('① ' + fmt(c('pgfault')) + ' page faults (' + fmt(c('pgmajfault')) + ' major; ' + fmt(c('ecsmem_zero_page_map')) + ' zero-page maps, ' + fmt(c('ecsmem_cow_copy')) + ' COW copies; ' + fmt(c('ecsmem_pgtable_alloc')) + ' page-table pages allocated)');
    if (lit[2]) lines.push('② ' + fmt(c('pgalloc_normal')) + ' pages allocated, ' + fmt(c('pgfree')) + ' freed');
    if (lit[3]) lines.push('③ page cache: ' + fmt(c('ecsmem_pagecache_hit')) + ' hits, ' + fmt(c('ecsmem_pagecache_miss')) + ' file pages read');
    if (lit[4]) lines.push('④ kswapd woken ' + fmt(c('ecsmem_kswapd_wakeups')) + '×, ' + fmt(c('pgscan_kswapd') + c('pgscan_direct')) + ' pages scanned');
    if (lit[5]) lines.push('⑤ ' + fmt(c('pgsteal_kswapd') + c('pgsteal_direct')) + ' pages reclaimed');
    if (lit[6]) lines.push('⑥ swap cache: ' + fmt(c('ecsmem_swapcache_hit')) + ' hits, ' + fmt(c('pswpin')) + ' swap-ins through it');
    if (lit[7]) lines.push('⑦ ' + fmt(c('pswpout')) + ' pages swapped out (their PTEs rewritten to swap entries), ' + fmt(c('pswpin')) + ' swapped back in (swap entry rewritten to a frame)');
    if (lit[8]) lines.push('⑧ ' + fmt(c('dtlb_miss')) + ' dTLB misses, ' + fmt(c('nr_tlb_local_flush_one') + c('nr_tlb_local_flush_all')) + ' flushes');
    return { lit: lit, a0: a0, a1: s[1], t0: t0, t1: s[0], lines: lines };
  }
  // ---------- the event stream (ecsmem run --events), when the run kept one ----------
  var EV = D.events && D.events.list && D.events.list.length ? D.events : null;
  var CIRCLED = '①②③④⑤⑥⑦⑧';
  function evLit(e) {
    var lit = { mapping: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0 };
    if (e.kind === 'syscall') lit.mapping = 1;
    for (var i = 0; i < (e.arrow || '').length; i++) { var n = CIRCLED.indexOf(e.arrow.charAt(i)); if (n >= 0) lit[n + 1] = 1; }
    // a swap-in rewrites the swap entry back to a frame (⑦) as well as going through the swap cache (⑥)
    if (e.kind === 'swap_in') lit[7] = 1;
    return lit;
  }
  function evText(e) {
    var who = e.pid ? 'pid ' + e.pid : 'kernel';
    switch (e.kind) {
      case 'fault':
        return who + ': page fault at ' + e.address + ' (' + e.access + ')' + (e.vma_start ? ' in ' + (e.vma || 'anonymous') + ' [' + e.vma_start + '–' + e.vma_end + ']' : ', no VMA') +
          ' → ' + (e['class'] || 'SIGSEGV') + ', ' + e.outcome + (e.pfn !== null ? ', frame pfn 0x' + e.pfn.toString(16) : '') + (e.major ? ', major (waited for the disk)' : ', minor') +
          '; ' + e.walk_levels + ' table levels walked; ' + fmt(e.latency) + ' cycles' + (e.victim_pid !== null ? '; the frame was pid ' + e.victim_pid + '\'s page ' + e.victim_address + ' before reclaim took it' : '');
      case 'syscall': return who + ': ' + e.strace;
      case 'reclaim': return (e.direct ? 'direct reclaim' : 'kswapd') + ' pass: scanned ' + fmt(e.scanned) + ' pages, reclaimed ' + fmt(e.reclaimed);
      case 'kswapd_wake': return 'kswapd woken: free memory below the low watermark';
      case 'kswapd_sleep': return 'kswapd goes back to sleep';
      case 'alloc': return who + ': frame pfn 0x' + (e.pfn === null ? '?' : e.pfn.toString(16)) + ' allocated for ' + e.address;
      case 'alloc_stall': return who + ': allocation for ' + e.address + ' stalled below the min watermark: direct reclaim';
      case 'swap_out': return who + ': page ' + e.address + ' (pfn 0x' + e.pfn.toString(16) + ') written to swap slot ' + e.slot;
      case 'unmap': return who + ': PTE of ' + e.address + ' rewritten ' + (e.slot !== null ? 'to a swap entry (slot ' + e.slot + ')' : 'to none (a file page dropped)') + ', frame pfn 0x' + (e.pfn === null ? '?' : e.pfn.toString(16)) + ' freed';
      case 'swap_in': return who + ': swap slot ' + e.slot + ' read into the swap cache, frame pfn 0x' + e.pfn.toString(16) + ', for ' + e.address;
      case 'file_read': return who + ': page ' + e.index + ' of ' + e.file + ' read into the page cache, frame pfn 0x' + e.pfn.toString(16);
      case 'tlb_flush': return who + ': TLB flush, ' + (e.full ? 'whole address space' : e.start + '–' + e.end) + (e.shootdowns ? ', ' + e.shootdowns + ' other CPUs shot down' : '');
      case 'oom_kill': return e.message;
      case 'process_start': return who + ' (' + e.name + ') starts';
      case 'process_exit': return who + ' (' + e.name + ') exits: ' + e.how;
      default: return who + ': ' + e.kind;
    }
  }
  function accessesAt(t) {
    var ss = TL.samples, prevA = 0, prevT = 0;
    for (var i = 0; i < ss.length; i++) {
      if (ss[i][0] >= t) return prevA + (ss[i][1] - prevA) * (ss[i][0] > prevT ? (t - prevT) / (ss[i][0] - prevT) : 1);
      prevA = ss[i][1]; prevT = ss[i][0];
    }
    return prevA;
  }
  function stepCount() { return state.mode === 'events' ? EV.list.length : TL.samples.length; }
  function stepInfo(i) {
    if (state.mode !== 'events') {
      var st = stepOf(i);
      return { lit: st.lit, accesses: st.a1, head: 'step ' + (i + 1) + ': accesses ' + fmt(st.a0) + ' → ' + fmt(st.a1), sub: ' (t = ' + fmt(st.t0) + ' → ' + fmt(st.t1) + ' cycles)', lines: st.lines, before: [] };
    }
    var e = EV.list[i];
    var before = [];
    for (var k = Math.max(0, i - 4); k < i; k++) before.push((EV.list[k].arrow || '·') + ' ' + evText(EV.list[k]));
    return {
      lit: evLit(e), accesses: accessesAt(e.time),
      head: 'event ' + (i + 1) + ': ' + e.kind + (e.arrow ? ' ' + e.arrow : ''), sub: ' (t = ' + fmt(e.time) + ' cycles, cpu ' + e.cpu + ')',
      lines: [evText(e)], before: before,
    };
  }
  function renderPlayer() {
    var box = clear(document.getElementById('player'));
    function btn(label, title, fn, id) { var b = el('button', { type: 'button', title: title, id: id }, label); b.addEventListener('click', fn); box.appendChild(b); return b; }
    if (EV) {
      var mode = el('select', { id: 'tl-mode', title: 'what one step is' });
      mode.appendChild(el('option', { value: 'events' }, 'step: one event'));
      mode.appendChild(el('option', { value: 'samples' }, 'step: one sample interval'));
      mode.value = state.mode;
      mode.addEventListener('change', function () { state.mode = mode.value; stop(); renderPlayer(); go(0); });
      box.appendChild(mode);
    }
    btn('|◀', 'first step', function () { go(0); }, 'tl-first');
    btn('◀', 'step back', function () { go(state.step - 1); }, 'tl-back');
    var play = btn('▶ play', 'play', function () {
      if (state.playing) { stop(); return; }
      if (state.step >= stepCount() - 1) go(0);
      play.textContent = '❚❚ pause';
      state.playing = setInterval(function () {
        if (state.step >= stepCount() - 1) { stop(); return; }
        go(state.step + 1);
      }, state.mode === 'events' ? 700 : 450);
    }, 'tl-play');
    function stop() { if (state.playing) clearInterval(state.playing); state.playing = null; var b = document.getElementById('tl-play'); if (b) b.textContent = '▶ play'; }
    btn('▶|', 'step forward', function () { go(state.step + 1); }, 'tl-step');
    var range = el('input', { type: 'range', min: 0, max: Math.max(0, stepCount() - 1), value: 0, id: 'tl-range' });
    range.addEventListener('input', function () { go(Number(range.value)); });
    box.appendChild(range);
    box.appendChild(el('span', { id: 'tl-pos', class: 'mono' }, ''));
  }
  function go(i) {
    var n = stepCount();
    if (n === 0) return;
    state.step = Math.max(0, Math.min(n - 1, i));
    var st = stepInfo(state.step);
    ['mapping', 1, 2, 3, 4, 5, 6, 7, 8].forEach(function (k) {
      var g = document.getElementById('arrow-' + k);
      if (!g) return;
      g.classList.toggle('lit', st.lit[k] > 0);
      g.querySelector('path').setAttribute('marker-end', st.lit[k] > 0 ? 'url(#headlit)' : 'url(#head)');
      var c = g.querySelector('text.count');
      if (c) c.textContent = st.lit[k] > 0 && state.mode !== 'events' ? '×' + fmt(st.lit[k]) : '';
    });
    document.getElementById('tl-range').value = String(state.step);
    document.getElementById('tl-pos').textContent = (state.step + 1) + '/' + n;
    var txt = clear(document.getElementById('step-text'));
    st.before.forEach(function (l) { txt.appendChild(el('div', { class: 'before' }, l)); });
    var head = el('div');
    head.appendChild(el('b', null, st.head));
    head.appendChild(document.createTextNode(st.sub));
    txt.appendChild(head);
    if (st.lines.length === 0) txt.appendChild(el('div', null, 'no mechanism counter moved in this step'));
    st.lines.forEach(function (l) { txt.appendChild(el('div', { class: 'now' }, l)); });
    if (state.mode === 'events') {
      var tot = D.events.total, kept = EV.list.length;
      txt.appendChild(el('div', { class: 'note' }, kept < tot ? 'The page keeps the run\'s first ' + fmt(kept) + ' of its ' + fmt(tot) +
        ' events (ecsmem run --events FILE.jsonl writes them all); switch to sample intervals to see the whole run.' : 'All ' + fmt(tot) + ' events of the run.'));
    }
    var cs = document.querySelectorAll('.plot .cursor');
    var last = TL.samples.length ? TL.samples[TL.samples.length - 1][1] : 1;
    for (var k = 0; k < cs.length; k++) {
      var x = Number(cs[k].getAttribute('data-x0')) + (Number(cs[k].getAttribute('data-w')) * (st.accesses / Math.max(1, last)));
      cs[k].setAttribute('x1', x); cs[k].setAttribute('x2', x);
    }
  }

  // ---------- 3: plots ----------
  function plot(title, series, yLabel) {
    var W = 600, H = 150, L = 54, Rm = 120, T = 18, B = 22;
    var svg = sv('svg', { class: 'plot', viewBox: '0 0 ' + W + ' ' + H, width: '100%' });
    var xs = TL.samples.map(function (s) { return s[1]; });
    var xmax = Math.max(1, xs[xs.length - 1] || 1);
    var ymax = 1;
    series.forEach(function (s) { s.ys.forEach(function (y) { if (y > ymax) ymax = y; }); });
    var pw = W - L - Rm, ph = H - T - B;
    function X(v) { return L + pw * v / xmax; }
    function Y(v) { return T + ph - ph * v / ymax; }
    svg.appendChild(sv('text', { class: 'ttl', x: L, y: 12 }, title));
    svg.appendChild(sv('line', { x1: L, y1: T + ph, x2: L + pw, y2: T + ph, stroke: '#8892a0' }));
    svg.appendChild(sv('line', { x1: L, y1: T, x2: L, y2: T + ph, stroke: '#8892a0' }));
    [0, 0.5, 1].forEach(function (f) {
      svg.appendChild(sv('text', { x: L - 4, y: Y(ymax * f) + 3, 'text-anchor': 'end' }, ymax * f >= 10 ? fmt(Math.round(ymax * f)) : String(Math.round(ymax * f * 1000) / 1000)));
      svg.appendChild(sv('text', { x: X(xmax * f), y: H - 8, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, fmt(Math.round(xmax * f)) + (f === 1 ? ' accesses' : '')));
      if (f > 0) svg.appendChild(sv('line', { x1: L, y1: Y(ymax * f), x2: L + pw, y2: Y(ymax * f), stroke: '#e3e7ed' }));
    });
    svg.appendChild(sv('text', { x: 4, y: T + ph / 2, transform: 'rotate(-90 10 ' + (T + ph / 2) + ')', 'text-anchor': 'middle' }, yLabel));
    series.forEach(function (s, k) {
      var d = '';
      s.ys.forEach(function (y, i) { d += (i ? ' L' : 'M') + X(xs[i]).toFixed(1) + ',' + Y(y).toFixed(1); });
      if (xs.length === 1) d += ' L' + (X(xs[0]) + 2) + ',' + Y(s.ys[0]).toFixed(1);
      svg.appendChild(sv('path', { d: d, fill: 'none', stroke: s.color, 'stroke-width': 1.6 }));
      svg.appendChild(sv('rect', { x: L + pw + 10, y: T + k * 14, width: 10, height: 3, fill: s.color }));
      svg.appendChild(sv('text', { x: L + pw + 24, y: T + k * 14 + 5 }, s.name));
    });
    svg.appendChild(sv('line', { class: 'cursor', x1: L, y1: T, x2: L, y2: T + ph, 'data-x0': L, 'data-w': pw }));
    return svg;
  }
  var PALETTE = ['#4f8fd6', '#e8a33d', '#6fb36f', '#e06a5a', '#a98bd8', '#39424e', '#2bb3b1', '#c9559a', '#8a6d3b', '#7a8494'];
  function renderPlots() {
    var box = clear(document.getElementById('plots'));
    if (TL.samples.length === 0) { box.appendChild(el('p', { class: 'note' }, 'No sample: the run simulated nothing.')); return; }
    box.appendChild(plot('memory (pages)', [
      { name: 'free pages', color: '#6fb36f', ys: TL.samples.map(function (s) { return s[2]; }) },
      { name: 'swap used', color: '#e06a5a', ys: TL.samples.map(function (s) { return s[3]; }) },
      { name: 'page cache', color: '#a98bd8', ys: TL.samples.map(function (s) { return s[4]; }) },
    ], 'pages'));
    var procs = TL.processes.slice(0, 10);
    box.appendChild(plot('RSS per process (pages)', procs.map(function (p, i) {
      return { name: p.pid + ' ' + p.name, color: PALETTE[i % PALETTE.length], ys: TL.samples.map(function (s) { return s[5][i] || 0; }) };
    }), 'pages'));
    var fi = CI.pgfault, mi = CI.pgmajfault;
    function rate(idx) {
      return TL.samples.map(function (s, i) { var da = s[1] - (i ? TL.samples[i - 1][1] : 0); return da > 0 ? s[6][idx] / da : 0; });
    }
    box.appendChild(plot('page faults per access', [
      { name: 'all faults', color: '#4f8fd6', ys: rate(fi) },
      { name: 'major', color: '#e06a5a', ys: rate(mi) },
    ], 'per access'));
    box.appendChild(el('p', { class: 'note' }, TL.samples.length + ' samples, every ' + fmt(TL.interval) + ' accesses at the end of the run (the interval starts at 1 and doubles ' +
      'whenever more than ' + D.caps.timeline_samples + ' samples would be kept). Each step of the player above is one sample interval; an arrow ' +
      'lights when its counters moved in that interval.' + (TL.processes.length > 10 ? ' Only the first 10 processes are drawn.' : '')));
  }

  // ---------- 6: the report's mechanism lines ----------
  function renderSummary() {
    var box = clear(document.getElementById('summary'));
    var m = R.mechanisms || {};
    var labels = { mapping: 'mapping', demand_paging: '① demand paging', allocation: '② allocation', reclaim: '④⑤ reclaim', page_cache: '③ page cache', swap_cache: '⑥ swap cache', tlb: '⑧ TLB', swapping: '⑦ swapping' };
    Object.keys(labels).forEach(function (k) {
      if (!m[k]) return;
      var d = el('div', { class: 'summary-line', 'data-mechanism': k });
      d.appendChild(el('b', null, labels[k]));
      d.appendChild(document.createTextNode(Object.keys(m[k]).map(function (f) {
        var v = m[k][f];
        return f.replace(/_/g, ' ') + ' ' + (Number.isInteger(v) ? fmt(v) : (Math.round(v * 10000) / 100) + '%');
      }).join(' · ')));
      box.appendChild(d);
    });
    box.appendChild(el('p', { class: 'note' }, 'The same numbers as the report\'s "mechanisms" section (ecsmem run --json), embedded whole in this page.'));
  }

  // ---------- wiring ----------
  function renderSnapshot() {
    var bs = document.querySelectorAll('#snapbar button');
    for (var i = 0; i < bs.length; i++) bs[i].classList.toggle('on', i === state.snap);
    renderAddressSpaces();
    renderMm();
    var s = snap();
    if (!proc(state.pid)) { state.pid = s && s.processes.length ? s.processes[0].pid : null; state.addr = defaultAddr(proc(state.pid)); }
    renderWalk();
  }

  function initialSnapshot() {
    // the most populated moment: the snapshot with the most resident pages
    var best = 0, most = -1;
    D.snapshots.forEach(function (s, i) {
      var r = 0;
      s.processes.forEach(function (p) { p.vmas.forEach(function (v) { r += v.rss; }); });
      if (r > most) { most = r; best = i; }
    });
    return best;
  }

  function hashParams() {
    var out = {};
    (location.hash || '').replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) out[decodeURIComponent(kv.substring(0, i))] = decodeURIComponent(kv.substring(i + 1));
    });
    return out;
  }

  function selfCheck() {
    var problems = [];
    var s = snap();
    (s ? s.processes : []).forEach(function (p) {
      var drawn = document.querySelectorAll('#as g.vma[data-pid="' + p.pid + '"]').length;
      if (drawn !== p.vmas.length) problems.push('pid ' + p.pid + ': ' + drawn + ' VMAs drawn, ' + p.vmas.length + ' in the data');
      if (document.querySelectorAll('#mm-table td[data-pid="' + p.pid + '"]').length !== p.mm_struct.length) problems.push('pid ' + p.pid + ': mm_struct column incomplete');
    });
    for (var n = 1; n <= 8; n++) if (!document.getElementById('arrow-' + n)) problems.push('arrow ' + n + ' missing');
    if (TL.samples.length && document.querySelectorAll('.plot').length !== 3) problems.push('plots missing');
    if (errors.length) problems.push(errors.length + ' script error(s)');
    document.body.setAttribute('data-selfcheck', problems.length ? 'fail: ' + problems.join('; ') : 'ok');
  }

  try {
    header();
    renderMechanisms();
    renderPlots();
    renderSummary();
    var h = hashParams();
    state.mode = EV && h.mode !== 'samples' ? 'events' : 'samples';
    state.snap = initialSnapshot();
    if (h.snap !== undefined) D.snapshots.forEach(function (s, i) { if (s.when === h.snap) state.snap = i; });
    if (h.pid !== undefined) state.pid = Number(h.pid);
    renderPlayer();
    renderSnapshot();
    if (h.addr !== undefined) { state.addr = h.addr; renderWalk(); }
    go(h.step !== undefined ? Number(h.step) : 0);
  } catch (e) {
    recordError(e && e.stack ? e.stack.split('\n')[0] : e);
  }
  selfCheck();
})();
