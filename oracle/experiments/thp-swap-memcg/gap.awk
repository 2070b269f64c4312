# The fill's THP faults on a kit.sh trace taken with KIT_EXTRA_EVENTS (page_fault_user, mm_page_alloc, sched_switch):
# awk -f gap.awk OUT/trace.N.txt. Per fault on the program's region (0x1000000..., one a 2 MiB block): the time (µs)
# from the fault to its order-9 mm_page_alloc, the memcg reclaim the charge made (begin → end), from the charge
# (reclaim end, or the allocation when there was none) to the next THP fault (folio_zero_user, the PMD's mapping and
# the 511 stores of the block), how much of that last span the program was off the CPU (sched_switch) and on it.
function ts(s) { match($0, / [0-9]+\.[0-9]+: /); return substr($0, RSTART + 1, RLENGTH - 3) * 1e6 }
/page_fault_user: address=0x1000/ && n <= 16 {
  t = ts($4)
  if (n > 0) emit(t)
  n++; out = 0; tf = t; ta = 0; rb = 0; re = 0; off = 0; next
}
/mm_page_alloc:.*order=9/ && n > 0 && n <= 16 && !ta { ta = ts($4); next }
/mm_vmscan_memcg_reclaim_begin/ && n > 0 && n <= 16 { if (!rb) rb = ts($4); next }
/mm_vmscan_memcg_reclaim_end/ && n > 0 && n <= 16 { re = ts($4); next }
/sched_switch:/ && n > 0 && n <= 16 {
  t = ts($4)
  if (index($0, "prev_comm=" comm)) { out = t }
  else if (index($0, "next_comm=" comm) && out) {
    # only the part after the charge: not while a reclaim is still running, nor before it ended
    c0 = re ? re : ta
    if (ta && !(rb && !re) && t > c0) off += t - (out > c0 ? out : c0)
    out = 0
  }
  next
}
function emit(t,   c) {
  c = re ? re : ta
  printf "THP %2d: alloc %6.0f  reclaim %6.0f  charge→next fault %6.0f (off-CPU %5.0f, on-CPU %5.0f)\n", n, ta - tf, (re ? re - rb : 0), t - c, off, t - c - off
  sum += t - c - off; cnt++
}
BEGIN { comm = "thp-swpout-fall" }
END { printf "mean on-CPU charge→next fault over %d THPs: %.0f µs\n", cnt, sum / cnt }
